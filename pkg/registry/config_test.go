package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		data string
		want Config
	}{
		{name: "a registries list is read", data: "registries:\n" + indent(kuberosList),
			want: Config{Registries: kuberosEntries}},
		{
			name: "a JSON document is read",
			data: `{"registries":[{"name":"default","imagePullSecretName":"t"}]}`,
			want: Config{Registries: []Entry{{Name: "default", ImagePullSecretName: "t"}}},
		},
		{name: "an empty file is an empty config", data: ""},
		{name: "a file of comments is an empty config", data: "# no registries yet\n"},
		{name: "an empty registries key is an empty config", data: "registries:\n"},
		{name: "an empty registries list is an empty list", data: "registries: []",
			want: Config{Registries: []Entry{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr []string
	}{
		{name: "malformed YAML is refused with an example", data: "registries: [",
			wantErr: []string{"failed to parse YAML", "registries: [{name: default"}},
		{name: "a list instead of a document is refused", data: kuberosList,
			wantErr: []string{"a list, not a mapping"}},
		{name: "an unknown key is refused", data: "registry:\n" + indent(kuberosList),
			wantErr: []string{`unknown key "registry"`, "the only key is registries"}},
		{name: "registries that are not a list are refused", data: "registries: default",
			wantErr: []string{"the registries value is a string, not a list"}},
		{name: "an entry without imagePullSecretName is refused",
			data:    "registries:\n- name: default",
			wantErr: []string{`registries[0] (name "default") has no imagePullSecretName`}},
		{name: "an entry with an unknown field is refused",
			data:    "registries:\n- {name: default, imagePullSecretName: t, secret: x}",
			wantErr: []string{`registries[0] (name "default") has an unknown field "secret"`}},
		{name: "an invalid policy is refused with the allowed values",
			data:    "registries:\n- {name: a, imagePullSecretName: t, imagePullPolicy: Maybe}",
			wantErr: []string{`imagePullPolicy "Maybe"`, "Always, IfNotPresent or Never"}},
		{name: "two entries of one name are refused",
			data: "registries:\n- {name: a, imagePullSecretName: t}\n" +
				"- {name: a, imagePullSecretName: u}",
			wantErr: []string{`registries[1] (name "a") has the same name as registries[0]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.data))
			require.Error(t, err)
			assert.Equal(t, Config{}, got)
			msg := err.Error()
			assert.Contains(t, msg, "--config file: ")
			assert.NotContains(t, msg, contract.ContainerRegistry,
				"a config error does not point at the Pod annotation")
			for _, want := range tt.wantErr {
				assert.Contains(t, msg, want)
			}
			assertErrorStyle(t, msg)
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(valid, []byte("registries:\n"+indent(kuberosList)), 0o600))
	invalid := filepath.Join(dir, "invalid.yaml")
	require.NoError(t, os.WriteFile(invalid, []byte("registry: []"), 0o600))

	t.Run("a valid file is read", func(t *testing.T) {
		got, err := LoadConfig(valid)
		require.NoError(t, err)
		assert.Equal(t, Config{Registries: kuberosEntries}, got)
	})
	t.Run("a missing file is refused with its path", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.yaml")
		_, err := LoadConfig(missing)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "failed to read --config file "+missing)
	})
	t.Run("an invalid file is refused with its path and the reason", func(t *testing.T) {
		_, err := LoadConfig(invalid)
		require.Error(t, err)
		assert.Contains(t, err.Error(), invalid)
		assert.Contains(t, err.Error(), `unknown key "registry"`)
	})
}

// indent indents every line of a YAML block by two spaces.
func indent(block string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(block, "\n"), "\n", "\n  ") + "\n"
}
