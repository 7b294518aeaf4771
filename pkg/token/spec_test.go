package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// testPassword is the token of the specs below; no output may contain it.
const testPassword = "glpat-s3cr3t-Xy9" //nolint:gosec // G101: made up, looked for in errors

// validSpec is a token that passes Validate.
func validSpec() Spec {
	return Spec{
		Name:        "kuberos-registry-token-default",
		RegistryURL: "registry.example.com:5050/team",
		UserName:    "robot-ci",
		Description: "Test token",
		Token:       testPassword,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Spec)
		wantURL string   // the registry URL after a successful Validate
		wantErr []string // parts of the error; none for a valid spec
	}{
		{
			name:    "a complete token is valid",
			change:  func(*Spec) {},
			wantURL: "registry.example.com:5050/team",
		},
		{
			name:    "a token without description is valid",
			change:  func(s *Spec) { s.Description = "" },
			wantURL: "registry.example.com:5050/team",
		},
		{
			name:    "an https scheme and a trailing slash are stripped from the registry URL",
			change:  func(s *Spec) { s.RegistryURL = "https://registry.example.com:5050/team/" },
			wantURL: "registry.example.com:5050/team",
		},
		{
			name:    "an http scheme is stripped from the registry URL",
			change:  func(s *Spec) { s.RegistryURL = "http://registry.example.com" },
			wantURL: "registry.example.com",
		},
		{
			name:    "allowed names and patterns are valid",
			change:  func(s *Spec) { s.AllowedNamespaces = "ros-default, team-a-*" },
			wantURL: "registry.example.com:5050/team",
		},
		{
			name:    "a name with capitals is not a DNS-1123 subdomain",
			change:  func(s *Spec) { s.Name = "Lab" },
			wantErr: []string{`name "Lab"`, "RFC 1123 subdomain"},
		},
		{
			name:    "a name with an underscore is not a DNS-1123 subdomain",
			change:  func(s *Spec) { s.Name = "lab_token" },
			wantErr: []string{`name "lab_token"`},
		},
		{
			name:    "a name longer than 253 characters is refused",
			change:  func(s *Spec) { s.Name = strings.Repeat("a", 254) },
			wantErr: []string{"must be no more than 253 characters"},
		},
		{
			name:    "an empty name is refused",
			change:  func(s *Spec) { s.Name = "" },
			wantErr: []string{`name ""`},
		},
		{
			name:    "an empty registry URL is refused",
			change:  func(s *Spec) { s.RegistryURL = "" },
			wantErr: []string{"registryUrl: must not be empty"},
		},
		{
			name:    "a registry URL with a space is unparsable",
			change:  func(s *Spec) { s.RegistryURL = "registry example.com" },
			wantErr: []string{`registryUrl "registry example.com"`, "not a registry host"},
		},
		{
			name:    "a registry URL with a query is refused",
			change:  func(s *Spec) { s.RegistryURL = "registry.example.com/team?x=1" },
			wantErr: []string{"registryUrl", "not a registry host"},
		},
		{
			name:    "a registry URL with credentials is refused",
			change:  func(s *Spec) { s.RegistryURL = "robot@registry.example.com" },
			wantErr: []string{"registryUrl", "not a registry host"},
		},
		{
			name:    "a registry URL that is only a scheme is refused",
			change:  func(s *Spec) { s.RegistryURL = "https://" },
			wantErr: []string{"registryUrl", "not a registry host"},
		},
		{
			name:    "a registry URL with an empty port is refused",
			change:  func(s *Spec) { s.RegistryURL = "registry.example.com:" },
			wantErr: []string{"the port is empty"},
		},
		{
			name:    "an empty token is refused",
			change:  func(s *Spec) { s.Token = "" },
			wantErr: []string{"token: must not be empty"},
		},
		{
			name:    "a token of spaces is refused",
			change:  func(s *Spec) { s.Token = "  \t" },
			wantErr: []string{"token: must not be empty"},
		},
		{
			name:    "an empty user name is refused",
			change:  func(s *Spec) { s.UserName = " " },
			wantErr: []string{"userName: must not be empty"},
		},
		{
			name:    "a malformed allowed pattern is refused",
			change:  func(s *Spec) { s.AllowedNamespaces = "ros-default,[" },
			wantErr: []string{`allowedNamespaces: "[" is not a name or a * pattern`},
		},
		{
			name: "every problem is reported at once",
			change: func(s *Spec) {
				s.Name, s.RegistryURL, s.UserName, s.Token = "Bad", "", "", ""
			},
			wantErr: []string{`name "Bad"`, "registryUrl", "userName", "token:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.change(&spec)

			err := spec.Validate()

			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.wantURL, spec.RegistryURL)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "invalid registry token: "), err)
			for _, part := range tt.wantErr {
				assert.Contains(t, err.Error(), part)
			}
			assert.NotContains(t, err.Error(), testPassword, "an error never quotes the token")
		})
	}
}

func TestValidateTwiceChangesNothing(t *testing.T) {
	spec := validSpec()
	spec.RegistryURL = "https://registry.example.com/team/"
	require.NoError(t, spec.Validate())
	first := spec

	require.NoError(t, spec.Validate())

	assert.Equal(t, first, spec)
}

func TestNormalizeRegistryURL(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    string
		wantErr string
	}{
		{name: "a host is kept", raw: "registry.example.com", want: "registry.example.com"},
		{name: "a host, port and path are kept", raw: "registry.example.com:5050/team/ros",
			want: "registry.example.com:5050/team/ros"},
		{name: "an https scheme is stripped", raw: "https://ghcr.io/kuberos-io",
			want: "ghcr.io/kuberos-io"},
		{name: "an http scheme is stripped", raw: "http://localhost:5000",
			want: "localhost:5000"},
		{name: "trailing slashes are stripped", raw: "registry.example.com/team//",
			want: "registry.example.com/team"},
		{name: "surrounding spaces are trimmed", raw: "  registry.example.com \n",
			want: "registry.example.com"},
		{name: "an IP address with a port is a registry", raw: "10.0.0.5:5000",
			want: "10.0.0.5:5000"},
		{name: "an empty value is refused", raw: "", wantErr: "must not be empty"},
		{name: "spaces only are refused", raw: "   ", wantErr: "must not be empty"},
		{name: "a space inside is refused", raw: "registry.example .com",
			wantErr: "not a registry host"},
		{name: "a fragment is refused", raw: "registry.example.com#x",
			wantErr: "not a registry host"},
		{name: "user info is refused", raw: "https://robot@registry.example.com",
			wantErr: "not a registry host"},
		{name: "a path without a host is refused", raw: "/team",
			wantErr: "not a registry host"},
		{name: "an empty port is refused", raw: "registry.example.com:/team",
			wantErr: "the port is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeRegistryURL(tt.raw)

			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.True(t, strings.HasPrefix(err.Error(), "registryUrl"), err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			again, err := NormalizeRegistryURL(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "a normalized URL normalizes to itself")
		})
	}
}

// dockerConfig is the .dockerconfigjson of one Secret, decoded.
type dockerConfig struct {
	Auths map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	} `json:"auths"`
}

func TestNewSecret(t *testing.T) {
	tests := []struct {
		name            string
		change          func(*Spec)
		wantAnnotations map[string]string
	}{
		{
			name:   "a token carries its registry URL, user name and description",
			change: func(*Spec) {},
			wantAnnotations: map[string]string{
				contract.RegistryURL: "registry.example.com:5050/team",
				contract.UserName:    "robot-ci",
				contract.Description: "Test token",
			},
		},
		{
			name:   "a token without description has no description annotation",
			change: func(s *Spec) { s.Description = "" },
			wantAnnotations: map[string]string{
				contract.RegistryURL: "registry.example.com:5050/team",
				contract.UserName:    "robot-ci",
			},
		},
		{
			name: "allowed namespaces are written trimmed, without empty items",
			change: func(s *Spec) {
				s.Description = ""
				s.AllowedNamespaces = " ros-default, ,team-a-* "
			},
			wantAnnotations: map[string]string{
				contract.RegistryURL:       "registry.example.com:5050/team",
				contract.UserName:          "robot-ci",
				contract.AllowedNamespaces: "ros-default,team-a-*",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.change(&spec)
			require.NoError(t, spec.Validate())

			secret, err := NewSecret(spec, "kuberos-registry")

			require.NoError(t, err)
			assert.Equal(t, spec.Name, secret.Name)
			assert.Equal(t, "kuberos-registry", secret.Namespace)
			assert.Equal(t, contract.TokenLabels(), secret.Labels)
			assert.True(t, IsToken(secret))
			assert.Equal(t, tt.wantAnnotations, secret.Annotations)
			assert.Equal(t, corev1.SecretTypeDockerConfigJson, secret.Type)
			require.Len(t, secret.Data, 1, "a token holds .dockerconfigjson only")

			var config dockerConfig
			require.NoError(t, json.Unmarshal(secret.Data[corev1.DockerConfigJsonKey], &config))
			require.Len(t, config.Auths, 1)
			entry, ok := config.Auths["registry.example.com:5050/team"]
			require.True(t, ok, "the auths entry is the registry URL")
			assert.Equal(t, "robot-ci", entry.Username)
			assert.Equal(t, testPassword, entry.Password)
			assert.Equal(t,
				base64.StdEncoding.EncodeToString([]byte("robot-ci:"+testPassword)), entry.Auth)
			for key, value := range secret.Annotations {
				assert.NotContains(t, value, testPassword, "annotation %s", key)
			}
		})
	}
}

func TestNewSecretIsStable(t *testing.T) {
	first, err := NewSecret(validSpec(), "kuberos-registry")
	require.NoError(t, err)

	second, err := NewSecret(validSpec(), "kuberos-registry")

	require.NoError(t, err)
	assert.Equal(t, first.Data, second.Data, "the same spec renders the same bytes")
}

func TestSpecPrintedByMistakeHidesTheToken(t *testing.T) {
	spec := validSpec()

	for _, format := range []string{"%v", "%s", "%+v", "%q"} {
		t.Run(format, func(t *testing.T) {
			got := fmt.Sprintf(format, spec)
			assert.NotContains(t, got, testPassword)
			assert.Contains(t, got, spec.Name)
		})
	}
}
