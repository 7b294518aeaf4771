package token

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kuberosTemplate is the RegistryToken template of KubeROS, filled in as users do.
const kuberosTemplate = `apiVersion: v1alpha
kind: RegistryToken
metadata:
  name: kuberos-registry-token-default
  userName: 'robot-ci'
  registryUrl: registry.example.com:5050/team
  token: glpat-s3cr3t-Xy9
  description: 'Test token'
`

func TestParseFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    Spec
		wantErr []string
	}{
		{
			name: "the KubeROS template is read as users have it",
			file: kuberosTemplate,
			want: Spec{
				Name:        "kuberos-registry-token-default",
				RegistryURL: "registry.example.com:5050/team",
				UserName:    "robot-ci",
				Description: "Test token",
				Token:       testPassword,
			},
		},
		{
			name: "the template without description is read",
			file: strings.Replace(kuberosTemplate, "  description: 'Test token'\n", "", 1),
			want: Spec{
				Name:        "kuberos-registry-token-default",
				RegistryURL: "registry.example.com:5050/team",
				UserName:    "robot-ci",
				Token:       testPassword,
			},
		},
		{
			name: "a registry URL with a scheme is normalized",
			file: strings.Replace(kuberosTemplate, "registryUrl: registry",
				"registryUrl: https://registry", 1),
			want: Spec{
				Name:        "kuberos-registry-token-default",
				RegistryURL: "registry.example.com:5050/team",
				UserName:    "robot-ci",
				Description: "Test token",
				Token:       testPassword,
			},
		},
		{
			name: "allowedNamespaces is read from a comma-separated string",
			file: kuberosTemplate + "  allowedNamespaces: ros-default, team-a-*\n",
			want: Spec{
				Name:              "kuberos-registry-token-default",
				RegistryURL:       "registry.example.com:5050/team",
				UserName:          "robot-ci",
				Description:       "Test token",
				Token:             testPassword,
				AllowedNamespaces: "ros-default, team-a-*",
			},
		},
		{
			name: "allowedNamespaces is read from a list",
			file: kuberosTemplate + "  allowedNamespaces:\n    - ros-default\n    - team-a-*\n",
			want: Spec{
				Name:              "kuberos-registry-token-default",
				RegistryURL:       "registry.example.com:5050/team",
				UserName:          "robot-ci",
				Description:       "Test token",
				Token:             testPassword,
				AllowedNamespaces: "ros-default,team-a-*",
			},
		},
		{
			name:    "allowedNamespaces of another type is refused",
			file:    kuberosTemplate + "  allowedNamespaces: {team: a}\n",
			wantErr: []string{"allowedNamespaces: write a list"},
		},
		{
			name:    "a malformed allowed pattern is refused",
			file:    kuberosTemplate + "  allowedNamespaces: ['[']\n",
			wantErr: []string{`allowedNamespaces: "[" is not a name or a * pattern`},
		},
		{
			name:    "an unknown field in metadata is refused and named",
			file:    kuberosTemplate + "  namespace: ros-default\n",
			wantErr: []string{"invalid RegistryToken file", `unknown field "metadata.namespace"`},
		},
		{
			name:    "an unknown top-level field is refused and named",
			file:    kuberosTemplate + "spec: {}\n",
			wantErr: []string{"invalid RegistryToken file", `unknown field "spec"`},
		},
		{
			name:    "a misspelled field is refused rather than ignored",
			file:    strings.Replace(kuberosTemplate, "userName:", "user:", 1),
			wantErr: []string{`unknown field "metadata.user"`},
		},
		{
			name:    "a wrong kind is refused",
			file:    strings.Replace(kuberosTemplate, "kind: RegistryToken", "kind: Secret", 1),
			wantErr: []string{`kind is "Secret", want RegistryToken`},
		},
		{
			name:    "a missing kind is refused",
			file:    strings.Replace(kuberosTemplate, "kind: RegistryToken\n", "", 1),
			wantErr: []string{`kind is "", want RegistryToken`},
		},
		{
			name:    "a wrong apiVersion is refused",
			file:    strings.Replace(kuberosTemplate, "apiVersion: v1alpha", "apiVersion: v1", 1),
			wantErr: []string{`apiVersion is "v1", want v1alpha`},
		},
		{
			name:    "an empty token is refused",
			file:    strings.Replace(kuberosTemplate, "token: glpat-s3cr3t-Xy9", "token: ''", 1),
			wantErr: []string{"token: must not be empty"},
		},
		{
			name:    "the template's placeholder name is refused",
			file:    strings.Replace(kuberosTemplate, "kuberos-registry-token-default", "<x>", 1),
			wantErr: []string{`name "<x>"`},
		},
		{
			name: "an unparsable registry URL is refused",
			file: strings.Replace(kuberosTemplate, "registry.example.com:5050/team",
				"registry example.com", 1),
			wantErr: []string{`registryUrl "registry example.com"`},
		},
		{
			name:    "a file that is not YAML is refused",
			file:    "apiVersion: v1alpha\nkind: [RegistryToken\n",
			wantErr: []string{"invalid RegistryToken file"},
		},
		{
			name:    "an empty file is refused",
			file:    "",
			wantErr: []string{`kind is ""`},
		},
		{
			name:    "an unknown field that repeats the token does not quote it",
			file:    kuberosTemplate + "  glpat-s3cr3t-Xy9: oops\n",
			wantErr: []string{"unknown field", "[redacted]"},
		},
		{
			name:    "a duplicated token key does not quote the token",
			file:    kuberosTemplate + "  token: glpat-s3cr3t-Xy9\n",
			wantErr: []string{"invalid RegistryToken file"},
		},
		{
			name:    "a token of the wrong type does not quote the token",
			file:    strings.Replace(kuberosTemplate, "token: glpat-s3cr3t-Xy9", "token: [x]", 1),
			wantErr: []string{"invalid RegistryToken file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile([]byte(tt.file))

			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			for _, part := range tt.wantErr {
				assert.Contains(t, err.Error(), part)
			}
			assert.NotContains(t, err.Error(), testPassword, "an error never quotes the token")
			assert.Equal(t, Spec{}, got)
		})
	}
}

func TestParseFileKeepsTheTokenAsWritten(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{name: "a plain token", value: "abc123", want: "abc123"},
		{name: "a quoted token with a colon", value: `"a:b c"`, want: "a:b c"},
		{name: "a token that YAML would read as a number stays a string",
			value: `"0123"`, want: "0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := strings.Replace(kuberosTemplate, "token: glpat-s3cr3t-Xy9",
				"token: "+tt.value, 1)

			got, err := ParseFile([]byte(file))

			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Token)
		})
	}
}
