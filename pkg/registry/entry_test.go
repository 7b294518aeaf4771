package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// kuberosList is the containerRegistry list of the KubeROS example manifest.
const kuberosList = `- name: default
  imagePullSecretName: kuberos-registry-token-default
  imagePullPolicy: Always
- name: second-registry
  imagePullSecretName: second-registry-token
  imagePullPolicy: IfNotPresent
`

var kuberosEntries = []Entry{
	{Name: "default", ImagePullSecretName: "kuberos-registry-token-default",
		ImagePullPolicy: corev1.PullAlways},
	{Name: "second-registry", ImagePullSecretName: "second-registry-token",
		ImagePullPolicy: corev1.PullIfNotPresent},
}

func TestParseEntries(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []Entry
	}{
		{name: "the KubeROS list in YAML is read", value: kuberosList, want: kuberosEntries},
		{
			name: "the same list in JSON is read",
			value: `[{"name":"default","imagePullSecretName":"kuberos-registry-token-default",` +
				`"imagePullPolicy":"Always"},{"name":"second-registry",` +
				`"imagePullSecretName":"second-registry-token","imagePullPolicy":"IfNotPresent"}]`,
			want: kuberosEntries,
		},
		{name: "an empty value is an empty list", value: ""},
		{name: "a value of whitespace is an empty list", value: " \n\t"},
		{name: "a YAML null is an empty list", value: "null"},
		{name: "an empty YAML list is an empty list", value: "[]", want: []Entry{}},
		{
			name:  "an entry without a policy leaves the policy empty",
			value: "- {name: default, imagePullSecretName: my-token}",
			want:  []Entry{{Name: "default", ImagePullSecretName: "my-token"}},
		},
		{
			name:  "Never is an allowed policy",
			value: "- {name: a, imagePullSecretName: t, imagePullPolicy: Never}",
			want: []Entry{{Name: "a", ImagePullSecretName: "t",
				ImagePullPolicy: corev1.PullNever}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEntries(tt.value)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseEntriesIsIdempotent(t *testing.T) {
	first, err := ParseEntries(kuberosList)
	require.NoError(t, err)
	written, err := yaml.Marshal(first)
	require.NoError(t, err)

	second, err := ParseEntries(string(written))
	require.NoError(t, err)
	assert.Equal(t, first, second, "a list written back from its parse reads the same")
}

func TestParseEntriesErrors(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		wantErr []string
	}{
		{
			name:    "malformed YAML is refused with an example",
			value:   "- name: [default",
			wantErr: []string{"failed to parse the containerRegistry list", "for example"},
		},
		{
			name:    "malformed JSON is refused with an example",
			value:   `[{"name": "default", "imagePullSecretName": "t"`,
			wantErr: []string{"failed to parse", "YAML or JSON list"},
		},
		{
			name:    "a mapping instead of a list is refused",
			value:   "name: default\nimagePullSecretName: t",
			wantErr: []string{"a mapping, not a list", "write a list of entries"},
		},
		{
			name:    "a string instead of a list is refused",
			value:   "default",
			wantErr: []string{"a string, not a list"},
		},
		{
			name:    "an item that is not a mapping is refused",
			value:   "- default",
			wantErr: []string{"containerRegistry[0] is a string, not a mapping", "for example"},
		},
		{
			name:  "an unknown field is refused with the known fields",
			value: "- {name: default, imagePullSecret: t}",
			wantErr: []string{`containerRegistry[0] (name "default")`,
				`unknown field "imagePullSecret"`,
				"name, imagePullSecretName and imagePullPolicy"},
		},
		{
			name:    "a field spelt in another case is unknown",
			value:   "- {name: default, imagepullsecretname: t}",
			wantErr: []string{`unknown field "imagepullsecretname"`},
		},
		{
			name:    "a field given twice is refused",
			value:   "- name: a\n  name: b\n  imagePullSecretName: t",
			wantErr: []string{"failed to parse"},
		},
		{
			name:    "a field of the wrong type is refused",
			value:   "- {name: [a], imagePullSecretName: t}",
			wantErr: []string{"failed to read containerRegistry[0]", "every field is a string"},
		},
		{
			name:    "an entry without a name is refused",
			value:   "- {imagePullSecretName: t}",
			wantErr: []string{"containerRegistry[0] has no name", `"name: default"`},
		},
		{
			name:    "a name with whitespace is refused",
			value:   "- {name: second registry, imagePullSecretName: t}",
			wantErr: []string{`(name "second registry")`, "no whitespace", "for example"},
		},
		{
			name:    "a name with '=' is refused",
			value:   "- {name: 'a=b', imagePullSecretName: t}",
			wantErr: []string{`(name "a=b")`, "'='"},
		},
		{
			name:  "an entry without imagePullSecretName says what to add",
			value: "- name: default\n  imagePullPolicy: Always",
			wantErr: []string{`containerRegistry[0] (name "default") has no imagePullSecretName`,
				`"imagePullSecretName: kuberos-registry-token-default"`},
		},
		{
			name:  "an invalid policy is refused with the allowed values",
			value: "- {name: second-registry, imagePullSecretName: t, imagePullPolicy: Sometimes}",
			wantErr: []string{`(name "second-registry")`, `imagePullPolicy "Sometimes"`,
				"Always, IfNotPresent or Never", `"imagePullPolicy: IfNotPresent"`},
		},
		{
			name:    "a policy in the wrong case is refused",
			value:   "- {name: default, imagePullSecretName: t, imagePullPolicy: always}",
			wantErr: []string{`imagePullPolicy "always"`},
		},
		{
			name: "two entries of one name are refused",
			value: "- {name: default, imagePullSecretName: a}\n" +
				"- {name: default, imagePullSecretName: b}",
			wantErr: []string{`containerRegistry[1] (name "default")`, "containerRegistry[0]",
				"give each entry its own name"},
		},
		{
			name:  "a Secret name that is not a DNS subdomain is refused",
			value: "- {name: default, imagePullSecretName: My_Token}",
			wantErr: []string{`imagePullSecretName "My_Token" is not a valid Secret name`,
				`"imagePullSecretName: my-registry-token"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEntries(tt.value)
			require.Error(t, err)
			assert.Nil(t, got)
			msg := err.Error()
			assert.Contains(t, msg, "annotation "+contract.ContainerRegistry+":")
			for _, want := range tt.wantErr {
				assert.Contains(t, msg, want)
			}
			assertErrorStyle(t, msg)
		})
	}
}

// assertErrorStyle checks what every error of the package shares: lowercase, no final period.
func assertErrorStyle(t *testing.T, msg string) {
	t.Helper()
	require.NotEmpty(t, msg)
	assert.NotRegexp(t, `^[A-Z]`, msg, "an error starts lowercase")
	assert.NotRegexp(t, `\.$`, msg, "an error has no final period")
}
