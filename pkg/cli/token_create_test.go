package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// tokenTestPassword is the token of these tests; no output may contain it.
const tokenTestPassword = "glpat-unit-s3cr3t" //nolint:gosec // G101: made up, looked for in outputs

// runTokenCommand runs the root command without a cluster: for the errors found before any
// request is made.
func runTokenCommand(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := NewRootCommandWithClock(genericiooptions.IOStreams{
		In: strings.NewReader(stdin), Out: &stdout, ErrOut: &stderr,
	}, time.Now)
	// An unreachable server: a test that gets as far as a request fails fast.
	cmd.SetArgs(append([]string{"--server", "https://127.0.0.1:1", "--request-timeout", "1s"},
		args...))
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

// tokenTestOptions are the options of a command against a fake clientset.
func tokenTestOptions(store string) (*Options, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &Options{
		TokenNamespace: store,
		Streams:        genericiooptions.IOStreams{Out: &stdout, ErrOut: &stderr},
		Now:            time.Now,
	}, &stdout, &stderr
}

func TestTokenCreateRefusesBadUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "registry_token.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: v1alpha
kind: RegistryToken
metadata:
  name: lab
  userName: robot
  registryUrl: registry.example.com
  token: `+tokenTestPassword+`
  allowedNamespaces: ros-default
`), 0o600))

	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantErr []string
	}{
		{
			name:    "neither a file nor a name is refused",
			args:    []string{"token", "create"},
			wantErr: []string{"give the token's NAME", "-f"},
		},
		{
			name:    "a file and a name together are refused",
			args:    []string{"token", "create", "lab", "-f", file},
			wantErr: []string{"remove the argument lab"},
		},
		{
			name: "a file and field flags together are refused",
			args: []string{"token", "create", "-f", file, "--user-name", "x",
				"--token-stdin"},
			wantErr: []string{"-f takes every field from the file", "--user-name",
				"--token-stdin"},
		},
		{
			name:    "allowed namespaces in the file and as a flag are refused",
			args:    []string{"token", "create", "-f", file, "--allowed-namespaces", "x"},
			wantErr: []string{"sets metadata.allowedNamespaces already"},
		},
		{
			name:    "a missing file is an error naming it",
			args:    []string{"token", "create", "-f", file + ".missing"},
			wantErr: []string{"failed to read the token file", "registry_token.yaml.missing"},
		},
		{
			name:    "a name without the other flags lists what is missing",
			args:    []string{"token", "create", "lab", "--user-name", "robot"},
			wantErr: []string{"missing --registry-url, --token-stdin", "never from a flag"},
		},
		{
			name: "--token is not the registry token, and the error says so",
			args: []string{"token", "create", "lab", "--registry-url", "r.example.com",
				"--user-name", "robot", "--token", tokenTestPassword},
			wantErr: []string{"unknown flag: --token", "pipe it in with --token-stdin"},
		},
		{
			name: "empty standard input is refused",
			args: []string{"token", "create", "lab", "--registry-url", "r.example.com",
				"--user-name", "robot", "--token-stdin"},
			stdin:   "\n",
			wantErr: []string{"standard input holds no token"},
		},
		{
			name: "an invalid name is refused before any request",
			args: []string{"token", "create", "Lab", "--registry-url", "r.example.com",
				"--user-name", "robot", "--token-stdin"},
			stdin:   tokenTestPassword,
			wantErr: []string{`name "Lab"`},
		},
		{
			name:    "two names are refused",
			args:    []string{"token", "create", "a", "b"},
			wantErr: []string{"accepts at most 1 arg"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runTokenCommand(t, tt.stdin, tt.args...)

			require.Error(t, err)
			for _, part := range tt.wantErr {
				assert.Contains(t, err.Error(), part)
			}
			for _, out := range []string{err.Error(), stdout, stderr} {
				assert.NotContains(t, out, tokenTestPassword)
			}
		})
	}
}

func TestReadTokenStdin(t *testing.T) {
	tests := []struct {
		name    string
		stdin   string
		want    string
		wantErr string
	}{
		{name: "a token without newline is read as is", stdin: "abc", want: "abc"},
		{name: "one trailing newline is dropped", stdin: "abc\n", want: "abc"},
		{name: "one trailing CRLF is dropped", stdin: "abc\r\n", want: "abc"},
		{name: "only one trailing newline is dropped", stdin: "abc\n\n", want: "abc\n"},
		{name: "inner spaces are kept", stdin: " a b ", want: " a b "},
		{name: "an empty input is refused", stdin: "", wantErr: "holds no token"},
		{name: "a newline alone is refused", stdin: "\n", wantErr: "holds no token"},
		{name: "an input larger than a token is refused",
			stdin: strings.Repeat("a", maxTokenBytes+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTokenStdin(strings.NewReader(tt.stdin))

			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCreateStoredToken(t *testing.T) {
	spec := token.Spec{Name: "lab", RegistryURL: "registry.example.com", UserName: "robot",
		Token: tokenTestPassword}
	require.NoError(t, spec.Validate())

	t.Run("a new token is written with the contract's labels", func(t *testing.T) {
		o, _, _ := tokenTestOptions("store")
		cs := fake.NewClientset()

		created, err := createStoredToken(t.Context(), cs, o, spec)

		require.NoError(t, err)
		assert.Equal(t, "store", created.Namespace)
		assert.Equal(t, contract.TokenLabels(), created.Labels)
	})
	t.Run("an existing token points to token update", func(t *testing.T) {
		o, _, _ := tokenTestOptions("store")
		existing, err := token.NewSecret(spec, "store")
		require.NoError(t, err)
		cs := fake.NewClientset(existing)

		_, err = createStoredToken(t.Context(), cs, o, spec)

		require.Error(t, err)
		assert.Equal(t, "token lab already exists in namespace store: change it with "+
			"`kuberos-registry token update lab --token-namespace store`", err.Error())
	})
	t.Run("another Secret of that name is not called a token", func(t *testing.T) {
		o, _, _ := tokenTestOptions(contract.DefaultTokenNamespace)
		other, err := token.NewSecret(spec, contract.DefaultTokenNamespace)
		require.NoError(t, err)
		other.Labels = nil
		cs := fake.NewClientset(other)

		_, err = createStoredToken(t.Context(), cs, o, spec)

		require.Error(t, err)
		assert.Contains(t, err.Error(), "is not a registry token already has that name")
	})
}
