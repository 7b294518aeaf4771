package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// cliTokenStore is the store of the golden tables: only this file's tokens live there, so the
// tables do not change with the tokens other tests put into the suite's store.
const cliTokenStore = "cli-store"

// tokenFixture is the path of a RegistryToken file of testdata/tokens.
func tokenFixture(name string) string {
	return filepath.Join("testdata", "tokens", name)
}

var (
	cliSecretsMu sync.Mutex
	// cliSecrets are the values no command may print: the tokens of the fixtures and of the
	// tests, their base64 auth, and the .dockerconfigjson they were stored with, raw and in
	// base64.
	cliSecrets = []string{
		"fixture-alpha-Zq81vK", "fixture-create-Pw3sXe", "fixture-allowed-7hTrQm",
		"fixture-rotated-Lk29Wb", "fixture-invalid-Vn58Ty",
	}
)

// rememberCLIToken records a token value, and its auth for each user name, as values no
// output may contain; the suite's log scan looks for them too.
func rememberCLIToken(value string, userNames ...string) {
	values := []string{value}
	for _, user := range userNames {
		values = append(values, base64.StdEncoding.EncodeToString([]byte(user+":"+value)))
	}
	cliSecretsMu.Lock()
	cliSecrets = append(cliSecrets, values...)
	cliSecretsMu.Unlock()
	rememberSecret(values...)
}

// rememberStoredData records the .dockerconfigjson of a stored token, raw and in base64.
func rememberStoredData(t *testing.T, namespace, name string) {
	t.Helper()
	secret, err := kube.CoreV1().Secrets(namespace).Get(context.Background(), name,
		metav1.GetOptions{})
	require.NoError(t, err)
	data := secret.Data[corev1.DockerConfigJsonKey]
	cliSecretsMu.Lock()
	defer cliSecretsMu.Unlock()
	cliSecrets = append(cliSecrets, string(data), base64.StdEncoding.EncodeToString(data))
}

// requireNoCLISecret fails when the text holds any value recorded as secret.
func requireNoCLISecret(t *testing.T, text string) {
	t.Helper()
	cliSecretsMu.Lock()
	values := append([]string(nil), cliSecrets...)
	cliSecretsMu.Unlock()
	for _, value := range values {
		// The value is not printed: a failure must not leak it either.
		require.False(t, strings.Contains(text, value), "a command printed a token value")
	}
}

// tokenCLI runs the CLI and checks that nothing it printed or returned holds a token value.
func tokenCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	stdout, stderr, err := runCLI(t, stdin, args...)
	transcript := stdout + stderr
	if err != nil {
		transcript += err.Error()
	}
	requireNoCLISecret(t, transcript)
	return stdout, stderr, err
}

// ensureCLINamespace creates a namespace of a fixed name, for golden files; it is kept, so a
// second run of the tests finds it.
func ensureCLINamespace(t *testing.T, name string) {
	t.Helper()
	_, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// cleanupCLITokens deletes the tokens from the store, and their copies, when the test ends.
func cleanupCLITokens(t *testing.T, store string, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		for _, name := range names {
			err := kube.CoreV1().Secrets(store).Delete(ctx, name, metav1.DeleteOptions{})
			if !apierrors.IsNotFound(err) {
				assert.NoError(t, err)
			}
			copies, err := kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx,
				metav1.ListOptions{
					LabelSelector: labels.SelectorFromSet(contract.MirrorLabels(name)).String(),
				})
			require.NoError(t, err)
			for _, c := range copies.Items {
				err := kube.CoreV1().Secrets(c.Namespace).Delete(ctx, c.Name,
					metav1.DeleteOptions{})
				if !apierrors.IsNotFound(err) {
					assert.NoError(t, err)
				}
			}
		}
	})
}

// createCLICopy writes a labelled copy of the stored token into the namespace, as the
// webhook does.
func createCLICopy(t *testing.T, store, name, namespace string) *corev1.Secret {
	t.Helper()
	ctx := context.Background()
	tok, err := kube.CoreV1().Secrets(store).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	created, err := kube.CoreV1().Secrets(namespace).Create(ctx, token.NewCopy(tok, namespace),
		metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// createForeignSecret writes a Secret of that name that is not a copy: it must survive.
func createForeignSecret(t *testing.T, namespace, name string) *corev1.Secret {
	t.Helper()
	created, err := kube.CoreV1().Secrets(namespace).Create(context.Background(),
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "a"}},
			Data:       map[string][]byte{"own": []byte("data of another tool")},
		}, metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// requireUntouched asserts that the Secret is exactly as it was.
func requireUntouched(t *testing.T, want *corev1.Secret) {
	t.Helper()
	got, err := kube.CoreV1().Secrets(want.Namespace).Get(context.Background(), want.Name,
		metav1.GetOptions{})
	require.NoError(t, err, "Secret %s/%s must survive", want.Namespace, want.Name)
	assert.Equal(t, want.ResourceVersion, got.ResourceVersion)
	assert.Equal(t, want.Labels, got.Labels)
	assert.Equal(t, want.Data, got.Data)
}

// storedAuth is one auths entry of a stored .dockerconfigjson.
type storedAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// requireStoredToken asserts that the store holds a token of the contract with these fields,
// and returns it.
func requireStoredToken(
	t *testing.T,
	store, name, registryURL, userName, password string,
) *corev1.Secret {
	t.Helper()
	secret, err := kube.CoreV1().Secrets(store).Get(context.Background(), name,
		metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, contract.TokenLabels(), secret.Labels)
	assert.Equal(t, corev1.SecretTypeDockerConfigJson, secret.Type)
	assert.Equal(t, registryURL, secret.Annotations[contract.RegistryURL])
	assert.Equal(t, userName, secret.Annotations[contract.UserName])

	var config struct {
		Auths map[string]storedAuth `json:"auths"`
	}
	require.NoError(t, json.Unmarshal(secret.Data[corev1.DockerConfigJsonKey], &config))
	require.Len(t, config.Auths, 1)
	entry, ok := config.Auths[registryURL]
	require.True(t, ok, "the auths entry is the registry URL %s", registryURL)
	assert.Equal(t, userName, entry.Username)
	assert.True(t, entry.Password == password, "the stored password is not the one expected")
	assert.True(t, entry.Auth == base64.StdEncoding.EncodeToString(
		[]byte(userName+":"+password)), "auth is not base64 of user:password")
	return secret
}

func TestCLITokenCreate(t *testing.T) {
	ctx := context.Background()
	cleanupCLITokens(t, storeNamespace, "cli-create-file", "cli-create-flags",
		"cli-create-allowed", "cli-create-taken")

	t.Run("a KubeROS template file creates a token, with a reminder to delete the file",
		func(t *testing.T) {
			file := tokenFixture("cli-create-file.yaml")
			stdout, stderr, err := tokenCLI(t, "", "token", "create", "-f", file)
			require.NoError(t, err)
			assert.Equal(t, "token cli-create-file created in namespace kuberos-registry "+
				"(registry registry.create.example:5050/team)\n", stdout)
			assert.Equal(t, "reminder: "+file+" holds the token in clear text; the cluster "+
				"stores it now, so delete the file: rm "+file+"\n", stderr)

			secret := requireStoredToken(t, storeNamespace, "cli-create-file",
				"registry.create.example:5050/team", "kuberos", "fixture-create-Pw3sXe")
			assert.Equal(t, "Test token", secret.Annotations[contract.Description])
			assert.NotContains(t, secret.Annotations, contract.AllowedNamespaces)
		})

	t.Run("flags and standard input create a token without the trailing newline",
		func(t *testing.T) {
			rememberCLIToken("flags-token-Hq62Vd", "robot-ci")
			stdout, stderr, err := tokenCLI(t, "flags-token-Hq62Vd\n", "token", "create",
				"cli-create-flags", "--registry-url", "registry.create.example/flags",
				"--user-name", "robot-ci", "--description", "from flags",
				"--allowed-namespaces", "ros-a, team-*", "--token-stdin")
			require.NoError(t, err)
			assert.Equal(t, "token cli-create-flags created in namespace kuberos-registry "+
				"(registry registry.create.example/flags)\n", stdout)
			assert.Empty(t, stderr, "no file, no reminder")

			secret := requireStoredToken(t, storeNamespace, "cli-create-flags",
				"registry.create.example/flags", "robot-ci", "flags-token-Hq62Vd")
			assert.Equal(t, "from flags", secret.Annotations[contract.Description])
			assert.Equal(t, "ros-a,team-*", secret.Annotations[contract.AllowedNamespaces])
		})

	t.Run("allowedNamespaces of a file are written to the token", func(t *testing.T) {
		_, _, err := tokenCLI(t, "", "token", "create", "-f",
			tokenFixture("cli-create-allowed.yaml"))
		require.NoError(t, err)

		secret := requireStoredToken(t, storeNamespace, "cli-create-allowed",
			"registry.create.example", "robot-ci", "fixture-allowed-7hTrQm")
		assert.Equal(t, "ros-default,team-a-*", secret.Annotations[contract.AllowedNamespaces])
	})

	t.Run("an existing token is an error that points to token update", func(t *testing.T) {
		before, err := kube.CoreV1().Secrets(storeNamespace).Get(ctx, "cli-create-file",
			metav1.GetOptions{})
		require.NoError(t, err)

		_, _, err = tokenCLI(t, "", "token", "create", "-f",
			tokenFixture("cli-create-file.yaml"))

		require.Error(t, err)
		assert.Equal(t, "token cli-create-file already exists in namespace kuberos-registry: "+
			"change it with `kuberos-registry token update cli-create-file`", err.Error())
		requireUntouched(t, before)
	})

	t.Run("a Secret of that name that is not a token is not replaced", func(t *testing.T) {
		foreign := createForeignSecret(t, storeNamespace, "cli-create-taken")

		_, _, err := tokenCLI(t, "taken-token-Bv71", "token", "create", "cli-create-taken",
			"--registry-url", "r.example.com", "--user-name", "robot", "--token-stdin")

		require.Error(t, err)
		assert.Equal(t, "a Secret kuberos-registry/cli-create-taken that is not a registry "+
			"token already has that name: choose another name for the token", err.Error())
		requireUntouched(t, foreign)
	})

	t.Run("a store namespace that does not exist is named with the command that creates it",
		func(t *testing.T) {
			_, _, err := tokenCLI(t, "", "--token-namespace", "cli-no-store", "token",
				"create", "-f", tokenFixture("cli-create-file.yaml"))

			require.Error(t, err)
			assert.Equal(t, "the store namespace cli-no-store does not exist: it is the "+
				"namespace of the kuberos-registry webhook; install the webhook there, or "+
				"create it with `kubectl create namespace cli-no-store`", err.Error())
		})

	t.Run("invalid files are refused with the field and the rule", func(t *testing.T) {
		tests := []struct {
			file string
			want []string
		}{
			{"invalid-unknown-field.yaml", []string{`unknown field "metadata.password"`}},
			{"invalid-kind.yaml", []string{`kind is "Secret", want RegistryToken`}},
			{"invalid-api-version.yaml", []string{`apiVersion is "v1", want v1alpha`}},
			{"invalid-name.yaml", []string{`name "<token name in the cluster>"`,
				"RFC 1123 subdomain"}},
			{"invalid-registry-url.yaml", []string{`registryUrl "<registry url>"`}},
			{"invalid-empty-token.yaml", []string{"token: must not be empty"}},
			{"invalid-yaml.yaml", []string{"invalid RegistryToken file"}},
		}
		for _, tt := range tests {
			file := tokenFixture(tt.file)
			_, _, err := tokenCLI(t, "", "token", "create", "-f", file)
			require.Error(t, err, tt.file)
			assert.True(t, strings.HasPrefix(err.Error(), file+": "), err.Error())
			for _, part := range tt.want {
				assert.Contains(t, err.Error(), part, tt.file)
			}
		}
		requireNoSecret(t, storeNamespace, "cli-invalid")
	})

	t.Run("usage errors are refused before anything is written", func(t *testing.T) {
		tests := []struct {
			stdin string
			args  []string
			want  string
		}{
			{args: []string{"-f", tokenFixture("cli-create-file.yaml"), "cli-usage"},
				want: "remove the argument cli-usage"},
			{args: []string{"-f", tokenFixture("cli-create-file.yaml"), "--user-name", "x"},
				want: "-f takes every field from the file: remove --user-name"},
			{args: []string{"-f", tokenFixture("cli-create-allowed.yaml"),
				"--allowed-namespaces", "x"},
				want: "sets metadata.allowedNamespaces already"},
			{args: []string{"cli-usage", "--registry-url", "r.example.com",
				"--user-name", "robot"},
				want: "missing --token-stdin"},
			{args: []string{"cli-usage", "--registry-url", "r.example.com",
				"--user-name", "robot", "--token-stdin"},
				want: "standard input holds no token"},
			{args: []string{}, want: "give the token's NAME"},
		}
		for _, tt := range tests {
			_, _, err := tokenCLI(t, tt.stdin, append([]string{"token", "create"},
				tt.args...)...)
			require.Error(t, err, tt.args)
			assert.Contains(t, err.Error(), tt.want)
		}
		requireNoSecret(t, storeNamespace, "cli-usage")
	})
}

// createdAt matches the creation time `token info` prints, which differs between runs.
var createdAt = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`)

func TestCLITokenListAndInfo(t *testing.T) {
	ctx := context.Background()
	copiesA, copiesB := "cli-copies-a", "cli-copies-b"
	for _, namespace := range []string{cliTokenStore, copiesA, copiesB} {
		ensureCLINamespace(t, namespace)
	}
	names := []string{"cli-alpha", "cli-beta", "cli-gamma"}
	rememberCLIToken("fixture-beta-Rw47Jd", "kuberos-bot")
	rememberCLIToken("fixture-gamma-Mb15Xc", "admin")
	// Each token is also stored in the suite's store: its controller would otherwise delete
	// the copies below as copies of a token that does not exist.
	for _, store := range []string{cliTokenStore, storeNamespace} {
		cleanupCLITokens(t, store, names...)
		_, _, err := tokenCLI(t, "", "--token-namespace", store, "token", "create", "-f",
			tokenFixture("cli-alpha.yaml"))
		require.NoError(t, err)
		_, _, err = tokenCLI(t, "fixture-beta-Rw47Jd\n", "--token-namespace", store,
			"token", "create", "cli-beta", "--registry-url", "ghcr.io/kuberos-io",
			"--user-name", "kuberos-bot", "--description", "CI images of the lab",
			"--allowed-namespaces", "cli-copies-*,ros-default", "--token-stdin")
		require.NoError(t, err)
		_, _, err = tokenCLI(t, "fixture-gamma-Mb15Xc", "--token-namespace", store, "token",
			"create", "cli-gamma", "--registry-url", "localhost:5000", "--user-name", "admin",
			"--token-stdin")
		require.NoError(t, err)
	}
	for _, name := range names {
		rememberStoredData(t, cliTokenStore, name)
	}
	createCLICopy(t, cliTokenStore, "cli-alpha", copiesA)
	createCLICopy(t, cliTokenStore, "cli-alpha", copiesB)
	createCLICopy(t, cliTokenStore, "cli-beta", copiesA)
	store := []string{"--token-namespace", cliTokenStore}

	t.Run("the table lists the store's tokens by name with their copies", func(t *testing.T) {
		stdout, stderr, err := tokenCLI(t, "", append(store, "token", "list")...)
		require.NoError(t, err)
		assert.Empty(t, stderr)
		golden(t, "token-list.txt", stdout)
	})

	t.Run("the wide table adds allowed namespaces and where the copies are",
		func(t *testing.T) {
			stdout, _, err := tokenCLI(t, "", append(store, "token", "list", "-o", "wide")...)
			require.NoError(t, err)
			golden(t, "token-list-wide.txt", stdout)
		})

	t.Run("JSON and YAML list every field but the token", func(t *testing.T) {
		jsonOut, _, err := tokenCLI(t, "", append(store, "token", "list", "-o", "json")...)
		require.NoError(t, err)
		yamlOut, _, err := tokenCLI(t, "", append(store, "token", "list", "-o", "yaml")...)
		require.NoError(t, err)

		var fromJSON, fromYAML []map[string]any
		require.NoError(t, json.Unmarshal([]byte(jsonOut), &fromJSON))
		require.NoError(t, yaml.Unmarshal([]byte(yamlOut), &fromYAML))
		assert.Equal(t, fromJSON, fromYAML, "JSON and YAML hold the same list")
		require.Len(t, fromJSON, 3)
		beta := fromJSON[1]
		assert.Equal(t, "cli-beta", beta["name"])
		assert.Equal(t, cliTokenStore, beta["namespace"])
		assert.Equal(t, "ghcr.io/kuberos-io", beta["registryUrl"])
		assert.Equal(t, "kuberos-bot", beta["userName"])
		assert.Equal(t, "CI images of the lab", beta["description"])
		assert.Equal(t, []any{"cli-copies-*", "ros-default"}, beta["allowedNamespaces"])
		assert.InDelta(t, 1, beta["copies"], 0)
		assert.Equal(t, []any{copiesA}, beta["copyNamespaces"])
		assert.NotEmpty(t, beta["created"])
		assert.Nil(t, fromJSON[0]["allowedNamespaces"], "null: every opted-in namespace")
		for _, item := range fromJSON {
			assert.NotContains(t, item, "data")
			assert.NotContains(t, item, "token")
		}
	})

	t.Run("an empty store says so on standard error", func(t *testing.T) {
		stdout, stderr, err := tokenCLI(t, "", "--token-namespace", "cli-empty-store",
			"token", "list")
		require.NoError(t, err)
		assert.Empty(t, stdout)
		assert.Equal(t, "No tokens found in namespace cli-empty-store.\n", stderr)

		stdout, _, err = tokenCLI(t, "", "--token-namespace", "cli-empty-store", "token",
			"list", "-o", "json")
		require.NoError(t, err)
		assert.Equal(t, "[]\n", stdout)
	})

	for _, tt := range []struct{ name, token, file string }{
		{"info shows every field and the state of each copy", "cli-alpha", "token-info.txt"},
		{"info shows the allowed namespaces", "cli-beta", "token-info-allowed.txt"},
		{"info of a token without copies says so", "cli-gamma", "token-info-no-copies.txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := tokenCLI(t, "", append(store, "token", "info", tt.token)...)
			require.NoError(t, err)
			assert.Empty(t, stderr)
			require.Regexp(t, createdAt, stdout)
			golden(t, tt.file, createdAt.ReplaceAllString(stdout, "<created>"))
		})
	}

	t.Run("info as JSON and YAML holds each copy's state", func(t *testing.T) {
		jsonOut, _, err := tokenCLI(t, "", append(store, "token", "info", "cli-alpha",
			"-o", "json")...)
		require.NoError(t, err)
		yamlOut, _, err := tokenCLI(t, "", append(store, "token", "info", "cli-alpha",
			"-o", "yaml")...)
		require.NoError(t, err)

		var fromJSON, fromYAML map[string]any
		require.NoError(t, json.Unmarshal([]byte(jsonOut), &fromJSON))
		require.NoError(t, yaml.Unmarshal([]byte(yamlOut), &fromYAML))
		assert.Equal(t, fromJSON, fromYAML)
		assert.Equal(t, "cli-alpha", fromJSON["name"])
		assert.Equal(t, "robot-ci", fromJSON["userName"])
		assert.Equal(t, []any{
			map[string]any{"namespace": copiesA, "name": "cli-alpha", "inStep": true,
				"allowed": true},
			map[string]any{"namespace": copiesB, "name": "cli-alpha", "inStep": true,
				"allowed": true},
		}, fromJSON["copies"])
		assert.NotContains(t, fromJSON, "data")
	})

	t.Run("info of an unknown token points to token list", func(t *testing.T) {
		_, _, err := tokenCLI(t, "", append(store, "token", "info", "cli-missing")...)
		require.Error(t, err)
		assert.Equal(t, "no token cli-missing in namespace cli-store: see the tokens with "+
			"`kuberos-registry token list --token-namespace cli-store`", err.Error())
	})

	t.Run("a Secret of the store that is not a token is not shown", func(t *testing.T) {
		foreign := createForeignSecret(t, cliTokenStore, "cli-not-a-token")
		t.Cleanup(func() {
			assert.NoError(t, kube.CoreV1().Secrets(cliTokenStore).Delete(ctx, foreign.Name,
				metav1.DeleteOptions{}))
		})

		_, _, err := tokenCLI(t, "", append(store, "token", "info", foreign.Name)...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no token cli-not-a-token in namespace cli-store")

		stdout, _, err := tokenCLI(t, "", append(store, "token", "list")...)
		require.NoError(t, err)
		assert.NotContains(t, stdout, foreign.Name)
	})

	t.Run("an unknown output format is refused", func(t *testing.T) {
		_, _, err := tokenCLI(t, "", append(store, "token", "list", "-o", "xml")...)
		require.Error(t, err)
		assert.Equal(t, `invalid --output "xml": use table, wide, json or yaml`, err.Error())
	})
}

func TestCLITokenUpdate(t *testing.T) {
	ctx := context.Background()
	const name = "cli-update-rotate"
	cleanupCLITokens(t, storeNamespace, name)
	rememberCLIToken("update-first-Tg83Ka", "robot", "robot-2")
	rememberCLIToken("update-second-Nc40Ws", "robot", "robot-2")
	rememberCLIToken("fixture-rotated-Lk29Wb", "robot-from-file")
	_, _, err := tokenCLI(t, "update-first-Tg83Ka", "token", "create", name,
		"--registry-url", "registry.update.example", "--user-name", "robot", "--token-stdin")
	require.NoError(t, err)
	rememberStoredData(t, storeNamespace, name)
	namespace := newNamespace(t, "cli-update", false, nil)
	createCLICopy(t, storeNamespace, name, namespace)
	current := func() *corev1.Secret {
		t.Helper()
		secret, err := kube.CoreV1().Secrets(storeNamespace).Get(ctx, name,
			metav1.GetOptions{})
		require.NoError(t, err)
		return secret
	}

	t.Run("a token from standard input rotates it, and the controller updates the copy",
		func(t *testing.T) {
			stdout, stderr, err := tokenCLI(t, "update-second-Nc40Ws\n", "token", "update",
				name, "--token-stdin")
			require.NoError(t, err)
			assert.Equal(t, "token cli-update-rotate updated: token rotated; copies are "+
				"updated by the controller\n", stdout)
			assert.Empty(t, stderr)

			rotated := requireStoredToken(t, storeNamespace, name, "registry.update.example",
				"robot", "update-second-Nc40Ws")
			rememberStoredData(t, storeNamespace, name)
			require.Eventually(t, func() bool { return copyIs(namespace, rotated) },
				eventually, 20*time.Millisecond, "the copy never received the rotated token")
		})

	t.Run("a new user name keeps the password", func(t *testing.T) {
		stdout, _, err := tokenCLI(t, "", "token", "update", name, "--user-name", "robot-2")
		require.NoError(t, err)
		assert.Equal(t, "token cli-update-rotate updated: user name changed; copies are "+
			"updated by the controller\n", stdout)
		requireStoredToken(t, storeNamespace, name, "registry.update.example", "robot-2",
			"update-second-Nc40Ws")
		rememberStoredData(t, storeNamespace, name)
	})

	t.Run("a new registry URL is normalized and keeps the password", func(t *testing.T) {
		stdout, _, err := tokenCLI(t, "", "token", "update", name, "--registry-url",
			"https://registry2.update.example/")
		require.NoError(t, err)
		assert.Equal(t, "token cli-update-rotate updated: registry URL changed; copies are "+
			"updated by the controller\n", stdout)
		requireStoredToken(t, storeNamespace, name, "registry2.update.example", "robot-2",
			"update-second-Nc40Ws")
		rememberStoredData(t, storeNamespace, name)
	})

	t.Run("a description alone leaves the data as it was", func(t *testing.T) {
		before := current()
		stdout, _, err := tokenCLI(t, "", "token", "update", name, "--description",
			"rotated monthly")
		require.NoError(t, err)
		assert.Equal(t, "token cli-update-rotate updated: description changed\n", stdout)
		after := current()
		assert.Equal(t, before.Data, after.Data)
		assert.Equal(t, "rotated monthly", after.Annotations[contract.Description])
	})

	t.Run("the same values again change nothing", func(t *testing.T) {
		before := current()
		stdout, _, err := tokenCLI(t, "update-second-Nc40Ws", "token", "update", name,
			"--description", "rotated monthly", "--token-stdin", "--user-name", "robot-2")
		require.NoError(t, err)
		assert.Equal(t, "token cli-update-rotate unchanged\n", stdout)
		assert.Equal(t, before.ResourceVersion, current().ResourceVersion)
	})

	t.Run("a file rotates the token and sets the fields it holds", func(t *testing.T) {
		stdout, _, err := tokenCLI(t, "", "token", "update", name, "-f",
			tokenFixture("cli-update-rotate.yaml"))
		require.NoError(t, err)
		assert.Equal(t, "token cli-update-rotate updated: token rotated, user name changed, "+
			"registry URL changed; copies are updated by the controller\n", stdout)
		secret := requireStoredToken(t, storeNamespace, name, "registry.update.example",
			"robot-from-file", "fixture-rotated-Lk29Wb")
		assert.Equal(t, "rotated monthly", secret.Annotations[contract.Description],
			"a description the file leaves out is kept")
		rememberStoredData(t, storeNamespace, name)
	})

	t.Run("refused updates leave the token as it was", func(t *testing.T) {
		before := current()
		tests := []struct {
			name string
			args []string
			want string
		}{
			{name: "an unparsable registry URL",
				args: []string{name, "--registry-url", "registry example.com"},
				want: `registryUrl "registry example.com"`},
			{name: "a malformed allowed pattern",
				args: []string{name, "--allowed-namespaces", "team-["},
				want: `allowedNamespaces: "team-[" is not a name or a * pattern`},
			{name: "no change",
				args: []string{name},
				want: "nothing to update: give -f FILE, or one or more of --token-stdin, " +
					"--user-name, --registry-url, --description, --allowed-namespaces"},
			{name: "a file with flags",
				args: []string{name, "-f", tokenFixture("cli-update-rotate.yaml"),
					"--description", "x"},
				want: "-f takes every field from the file: remove --description"},
			{name: "a file of another token",
				args: []string{"cli-update-other", "-f", tokenFixture("cli-update-rotate.yaml")},
				want: "cli-update-rotate.yaml is token cli-update-rotate, not " +
					"cli-update-other: set metadata.name to cli-update-other, or update " +
					"cli-update-rotate"},
			{name: "an unknown token",
				args: []string{"cli-update-missing", "--description", "x"},
				want: "no token cli-update-missing in namespace kuberos-registry: see the " +
					"tokens with `kuberos-registry token list`"},
		}
		for _, tt := range tests {
			_, _, err := tokenCLI(t, "", append([]string{"token", "update"}, tt.args...)...)
			require.Error(t, err, tt.name)
			assert.Contains(t, err.Error(), tt.want, tt.name)
		}
		assert.Equal(t, before.ResourceVersion, current().ResourceVersion)
	})

	t.Run("concurrent updates of different fields both land", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, args := range [][]string{
			{"--description", "updated concurrently"},
			{"--user-name", "robot-concurrent"},
		} {
			wg.Go(func() {
				_, _, errs[i] = runCLI(t, "", append([]string{"token", "update", name},
					args...)...)
			})
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])

		rememberCLIToken("fixture-rotated-Lk29Wb", "robot-concurrent")
		secret := requireStoredToken(t, storeNamespace, name, "registry.update.example",
			"robot-concurrent", "fixture-rotated-Lk29Wb")
		assert.Equal(t, "updated concurrently", secret.Annotations[contract.Description])
	})
}

func TestCLITokenUpdateRemovesCopiesNoLongerAllowed(t *testing.T) {
	const name, store = "cli-prune", "cli-store-prune"
	ensureCLINamespace(t, store)
	rememberCLIToken("prune-token-Fe30Yh", "robot")
	// The token of the suite's store allows every namespace, so its controller keeps every
	// copy: a copy that goes was deleted by the CLI.
	for _, s := range []string{store, storeNamespace} {
		cleanupCLITokens(t, s, name)
		_, _, err := tokenCLI(t, "prune-token-Fe30Yh", "--token-namespace", s, "token",
			"create", name, "--registry-url", "registry.prune.example", "--user-name", "robot",
			"--token-stdin")
		require.NoError(t, err)
	}
	kept := newNamespace(t, "cli-prune-kept", false, nil)
	gone := newNamespace(t, "cli-prune-gone", false, nil)
	theirs := newNamespace(t, "cli-prune-theirs", false, nil)
	keptCopy := createCLICopy(t, store, name, kept)
	createCLICopy(t, store, name, gone)
	foreign := createForeignSecret(t, theirs, name)

	stdout, _, err := tokenCLI(t, "", "--token-namespace", store, "token", "update", name,
		"--allowed-namespaces", kept)

	require.NoError(t, err)
	assert.Equal(t, "token cli-prune updated: allowed namespaces changed\n"+
		"removed the copy from namespace "+gone+" (no longer allowed)\n", stdout)
	requireNoSecret(t, gone, name)
	requireUntouched(t, keptCopy)
	requireUntouched(t, foreign)
}

func TestCLITokenDelete(t *testing.T) {
	ctx := context.Background()
	const name, other = "cli-delete", "cli-delete-other"
	cleanupCLITokens(t, storeNamespace, name, other, "cli-delete-lonely")
	rememberCLIToken("delete-token-Jy58Qs", "robot")
	for _, n := range []string{name, other, "cli-delete-lonely"} {
		_, _, err := tokenCLI(t, "delete-token-Jy58Qs", "token", "create", n,
			"--registry-url", "registry.delete.example", "--user-name", "robot",
			"--token-stdin")
		require.NoError(t, err)
	}
	namespaces := make([]string, 3)
	for i := range namespaces {
		namespaces[i] = newNamespace(t, "cli-delete", false, nil)
		createCLICopy(t, storeNamespace, name, namespaces[i])
	}
	sort.Strings(namespaces)
	otherCopy := createCLICopy(t, storeNamespace, other, namespaces[0])
	foreign := createForeignSecret(t, newNamespace(t, "cli-delete-theirs", false, nil), name)

	t.Run("a token goes with every copy, and the count is printed", func(t *testing.T) {
		stdout, stderr, err := tokenCLI(t, "", "token", "delete", name)

		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("token cli-delete deleted, and 3 copies in 3 namespaces "+
			"(%s)\n", strings.Join(namespaces, ", ")), stdout)
		assert.Empty(t, stderr)
		requireNoSecret(t, storeNamespace, name)
		for _, namespace := range namespaces {
			requireNoSecret(t, namespace, name)
		}
	})

	t.Run("a Secret of the same name that is not a copy survives byte for byte",
		func(t *testing.T) {
			requireUntouched(t, foreign)
		})

	t.Run("the copy of another token in the same namespace survives", func(t *testing.T) {
		requireUntouched(t, otherCopy)
	})

	t.Run("a deleted token is unknown", func(t *testing.T) {
		_, _, err := tokenCLI(t, "", "token", "delete", name)
		require.Error(t, err)
		assert.Equal(t, "no token cli-delete in namespace kuberos-registry: see the tokens "+
			"with `kuberos-registry token list`", err.Error())
	})

	t.Run("one copy is counted in the singular", func(t *testing.T) {
		stdout, _, err := tokenCLI(t, "", "token", "delete", other)
		require.NoError(t, err)
		assert.Equal(t, "token cli-delete-other deleted, and 1 copy in 1 namespace ("+
			namespaces[0]+")\n", stdout)
	})

	t.Run("a token without copies says so", func(t *testing.T) {
		stdout, _, err := tokenCLI(t, "", "token", "delete", "cli-delete-lonely")
		require.NoError(t, err)
		assert.Equal(t, "token cli-delete-lonely deleted; it had no copies\n", stdout)
	})

	t.Run("a Secret of the store that is not a token is not deleted", func(t *testing.T) {
		plain := createForeignSecret(t, storeNamespace, "cli-delete-plain")
		t.Cleanup(func() {
			assert.NoError(t, kube.CoreV1().Secrets(storeNamespace).Delete(ctx, plain.Name,
				metav1.DeleteOptions{}))
		})

		_, _, err := tokenCLI(t, "", "token", "delete", plain.Name)

		require.Error(t, err)
		assert.Contains(t, err.Error(), "no token cli-delete-plain")
		requireUntouched(t, plain)
	})
}

// TestCLITokenNeverPrinted runs every token command, successful or not, on one token and
// scans everything they printed and returned for the token, its auth and its stored data.
func TestCLITokenNeverPrinted(t *testing.T) {
	const name, first, second = "cli-secret", "never-printed-Xk93Pq", "never-rotated-Ud72Lz"
	cleanupCLITokens(t, storeNamespace, name)
	for _, value := range []string{first, second} {
		rememberCLIToken(value, "robot-ci", "robot-other")
	}
	namespace := newNamespace(t, "cli-secret", false, nil)
	file := filepath.Join(t.TempDir(), "registry_token.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: v1alpha
kind: RegistryToken
metadata:
  name: cli-secret
  userName: robot-ci
  registryUrl: registry.secret.example
  token: `+first+`
`), 0o600))
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	require.NoError(t, os.WriteFile(broken, []byte("apiVersion: v1alpha\nkind: RegistryToken\n"+
		"metadata:\n  name: cli-secret\n  token: "+first+"\n  "+first+": x\n"), 0o600))

	var transcript strings.Builder
	run := func(stdin string, args ...string) {
		t.Helper()
		stdout, stderr, err := tokenCLI(t, stdin, args...)
		transcript.WriteString(stdout + stderr)
		if err != nil {
			transcript.WriteString(err.Error())
		}
	}
	run("", "token", "create", "-f", broken)
	run("", "token", "create", "-f", file)
	rememberStoredData(t, storeNamespace, name)
	createCLICopy(t, storeNamespace, name, namespace)
	run("", "token", "create", "-f", file)
	run(first, "token", "create", name, "--registry-url", "r.example.com", "--user-name",
		"robot-ci", "--token-stdin")
	for _, output := range []string{"table", "wide", "json", "yaml"} {
		run("", "token", "list", "-o", output)
		run("", "token", "info", name, "-o", output)
	}
	run(second+"\n", "token", "update", name, "--token-stdin")
	rememberStoredData(t, storeNamespace, name)
	run("", "token", "update", name, "--user-name", "robot-other")
	rememberStoredData(t, storeNamespace, name)
	run("", "token", "update", name, "--registry-url", "registry example.com")
	run("", "token", "update", name, "--registry-url", "registry2.secret.example")
	rememberStoredData(t, storeNamespace, name)
	run("", "token", "update", name, "-f", file)
	rememberStoredData(t, storeNamespace, name)
	run("", "token", "update", name, "--allowed-namespaces", "nowhere")
	run("", "token", "info", name, "-o", "json")
	run("", "token", "delete", name)

	require.NotEmpty(t, transcript.String())
	requireNoCLISecret(t, transcript.String())
	assert.Contains(t, transcript.String(), "token cli-secret deleted",
		"the commands ran to the end")
}
