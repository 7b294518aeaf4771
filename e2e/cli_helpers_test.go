package e2e

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kuberos-io/kuberos-registry/pkg/cli"
)

// update rewrites the golden files: go test ./e2e/ -run TestCLI -update
var update = flag.Bool("update", false, "rewrite the golden files of the CLI tests")

var (
	cliKubeconfigOnce sync.Once
	cliKubeconfigPath string
)

// cliKubeconfig is a kubeconfig file for the suite's control plane, made once.
func cliKubeconfig(t *testing.T) string {
	t.Helper()
	cliKubeconfigOnce.Do(func() {
		user, err := testEnv.AddUser(envtest.User{Name: "cli-user",
			Groups: []string{"system:masters"}}, nil)
		require.NoError(t, err)
		data, err := user.KubeConfig()
		require.NoError(t, err)
		dir, err := os.MkdirTemp("", "kuberos-registry-cli-")
		require.NoError(t, err)
		cliKubeconfigPath = filepath.Join(dir, "kubeconfig")
		require.NoError(t, os.WriteFile(cliKubeconfigPath, data, 0o600))
	})
	return cliKubeconfigPath
}

// runCLI runs the kuberos-registry command in process against the suite's control plane,
// with stdin as standard input, and returns what it wrote. --kubeconfig is added unless the
// arguments carry one. The clock is the token's creation time plus clockOffset, so AGE
// columns are stable in golden files.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	streams := genericiooptions.IOStreams{
		In: strings.NewReader(stdin), Out: &stdout, ErrOut: &stderr,
	}
	cmd := cli.NewRootCommandWithClock(streams, fixedClock)
	if !hasFlag(args, "--kubeconfig") {
		args = append([]string{"--kubeconfig", cliKubeconfig(t)}, args...)
	}
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

// fixedClock makes every AGE the same: objects are created seconds before it.
func fixedClock() time.Time { return time.Now().Add(clockOffset) }

// clockOffset puts the clock far enough ahead that every AGE reads the same.
const clockOffset = 3 * 24 * time.Hour

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// golden compares got with testdata/golden/NAME, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o750))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o600))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./e2e/ -run %s -update", t.Name())
	require.Equal(t, string(want), got, "output differs from %s", path)
}
