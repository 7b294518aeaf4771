package chart

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeneratedFilesAreCurrent(t *testing.T) {
	root := filepath.Join(Dir(), "..", "..")

	t.Run("manifests/kuberos-registry.yaml is the chart rendered with its defaults",
		func(t *testing.T) {
			want, err := InstallManifest()
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(root, "manifests", "kuberos-registry.yaml"))
			require.NoError(t, err)
			assert.Equal(t, want, string(got), "stale: run make manifests")
		})

	t.Run("the README's values table is the one values.yaml gives", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(root, "README.md"))
		require.NoError(t, err)
		want, err := WithValuesTable(string(readme))
		require.NoError(t, err)
		assert.Equal(t, want, string(readme), "stale: run make manifests")
	})
}
