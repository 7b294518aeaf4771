package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
)

// checkFixture is the path of a manifest of testdata/check.
func checkFixture(name string) string {
	return filepath.Join("testdata", "check", name)
}

// kuberosFixture is the path of a real KubeROS manifest of pkg/kuberos/testdata.
func kuberosFixture(name string) string {
	return filepath.Join("..", "pkg", "kuberos", "testdata", name)
}

// checkTranscript is what a check printed and returned, with the generated namespace name
// replaced, for golden files.
func checkTranscript(namespace, stdout, stderr string, err error) string {
	var b strings.Builder
	b.WriteString(stdout)
	if stderr != "" {
		b.WriteString("--- stderr\n" + stderr)
	}
	if err != nil {
		b.WriteString("--- error\n" + err.Error() + "\n")
	}
	return strings.ReplaceAll(b.String(), namespace, "<namespace>")
}

// TestCLICheck checks KubeROS manifests against the suite's control plane: a clean manifest
// passes, a second entry passes with a warning, every kind of problem fails the check with its
// fix, and the real KubeROS manifests are read without a parse error.
func TestCLICheck(t *testing.T) {
	createToken(t, "check-clean-token", "registry.check.example", "")
	createToken(t, "check-first-default-token", "registry.check.example", "")
	createToken(t, "check-first-second-token", "planning.check.example/robotics", "")
	createToken(t, "check-problems-policy-token", "registry.check.example", "")
	createToken(t, "check-problems-restricted-token", "registry.check.example", "team-*")

	t.Run("a clean manifest exits zero and the tokens are copied at admission",
		func(t *testing.T) {
			namespace := newNamespace(t, "check-clean", true, nil)
			stdout, stderr, err := runCLI(t, "", "check", "-f",
				checkFixture("clean.deployment.yaml"), "-n", namespace)
			require.NoError(t, err)
			assert.Empty(t, stderr, "a clean manifest has no warnings")
			golden(t, "check-clean.txt", checkTranscript(namespace, stdout, stderr, err))
		})

	t.Run("a Secret already in the namespace is used as it is", func(t *testing.T) {
		namespace := newNamespace(t, "check-existing", true, nil)
		_, err := kube.CoreV1().Secrets(namespace).Create(context.Background(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "check-clean-token"},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)

		stdout, stderr, err := runCLI(t, "", "check", "-f",
			checkFixture("clean.deployment.yaml"), "-n", namespace, "-o", "wide")
		require.NoError(t, err)
		golden(t, "check-clean-secret-exists.txt",
			checkTranscript(namespace, stdout, stderr, err))
	})

	t.Run("a module of the second entry passes with a warning about KubeROS",
		func(t *testing.T) {
			namespace := newNamespace(t, "check-second", true, nil)
			stdout, stderr, err := runCLI(t, "", "check", "-f",
				checkFixture("second-entry.batchjob.yaml"), "-n", namespace)
			require.NoError(t, err, "a warning does not fail the check")
			assert.Contains(t, stderr, "Warning: module planner: KubeROS finds only the first "+
				`containerRegistry entry ("default"), so on its own it gives this module an `+
				"empty pull secret instead of check-first-second-token")
			golden(t, "check-second-entry.txt", checkTranscript(namespace, stdout, stderr, err))
		})

	t.Run("every problem fails the check, one a line, each with its fix", func(t *testing.T) {
		namespace := newNamespace(t, "check-problems", false, nil)
		stdout, stderr, err := runCLI(t, "", "check", "-f",
			checkFixture("problems.deployment.yaml"), "-n", namespace)
		require.Error(t, err)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 7, "a heading and six problems:\n%s", err)
		for want, line := range map[string]string{
			"namespace " + namespace + " has not opted in": lines[1],
			`module gripper: containerRegistry[1] (name "no-secret") has no ` +
				"imagePullSecretName": lines[2],
			`module arm: containerRegistry[2] (name "bad-policy"): imagePullPolicy ` +
				`"Sometimes" is not valid; use Always, IfNotPresent or Never`: lines[3],
			"module camera: Secret check-problems-missing-token is neither in namespace " +
				namespace + " nor a token in the store kuberos-registry; add the token: " +
				"kuberos-registry token create check-problems-missing-token": lines[4],
			`module planner: containerRegistryName "planning-registry" is not in the ` +
				"containerRegistry list (the names are default, no-secret, bad-policy, " +
				"restricted): KubeROS silently gives the Pod an empty pull secret": lines[5],
			"module monitor: token check-problems-restricted-token may not be copied into " +
				"namespace " + namespace + " (allowed: team-*)": lines[6],
		} {
			assert.Contains(t, line, want)
		}
		assert.Contains(t, stderr, "Warning: module monitor: KubeROS finds only the first")
		golden(t, "check-problems.txt", checkTranscript(namespace, stdout, stderr, err))
	})

	t.Run("a namespace that does not exist is a problem", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, "", "check", "-f",
			checkFixture("clean.deployment.yaml"), "-n", "check-no-such-namespace")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "namespace check-no-such-namespace does not exist: "+
			"create it and opt it in: kubectl create namespace check-no-such-namespace && "+
			"kubectl annotate namespace check-no-such-namespace "+
			"registry.kuberos.io/inject=enabled")
		golden(t, "check-no-namespace.txt",
			checkTranscript("check-no-such-namespace", stdout, stderr, err))
	})

	t.Run("the real KubeROS deployment has public images: nothing to check",
		func(t *testing.T) {
			stdout, stderr, err := runCLI(t, "", "check", "-f",
				kuberosFixture("hello_world.deployment.yaml"))
			require.NoError(t, err)
			golden(t, "check-kuberos-hello-world.txt",
				checkTranscript(kuberos.DefaultNamespace, stdout, stderr, err))
		})

	t.Run("the real KubeROS batch job is read and its missing token reported",
		func(t *testing.T) {
			namespace := newNamespace(t, "check-batch", true, nil)
			stdout, stderr, err := runCLI(t, "", "check", "-f",
				kuberosFixture("v2_batch_jobs.hello_world.yaml"), "-n", namespace)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "invalid KubeROS manifest")
			assert.Equal(t, 3, strings.Count(err.Error(),
				"Secret kuberos-fogrobo-registry-token-test is neither"),
				"one problem per module: %s", err)
			golden(t, "check-kuberos-batch-job.txt",
				checkTranscript(namespace, stdout, stderr, err))
		})

	t.Run("-o json prints every module with its status", func(t *testing.T) {
		namespace := newNamespace(t, "check-json", true, nil)
		stdout, _, err := runCLI(t, "", "check", "-f",
			checkFixture("second-entry.batchjob.yaml"), "-n", namespace, "-o", "json")
		require.NoError(t, err)
		var report struct {
			Kind      string
			Namespace string
			Modules   []struct {
				Module, Registry, Secret, Policy, Status, KubeROSSecret string
			}
			Warnings []string
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &report), stdout)
		assert.Equal(t, "BatchJob", report.Kind)
		assert.Equal(t, namespace, report.Namespace)
		require.Len(t, report.Modules, 2)
		assert.Equal(t, "planner", report.Modules[1].Module)
		assert.Equal(t, "second-registry", report.Modules[1].Registry)
		assert.Equal(t, "check-first-second-token", report.Modules[1].Secret)
		assert.Equal(t, "IfNotPresent", report.Modules[1].Policy)
		assert.Equal(t, "token exists (copied at admission)", report.Modules[1].Status)
		assert.Empty(t, report.Modules[1].KubeROSSecret, "KubeROS finds no entry for it")
		assert.Len(t, report.Warnings, 1)
	})

	t.Run("a file that is not a KubeROS manifest is an error naming it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token.yaml")
		require.NoError(t, os.WriteFile(path, []byte("apiVersion: v1alpha\n"+
			"kind: RegistryToken\n"), 0o600))
		_, _, err := runCLI(t, "", "check", "-f", path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path+`: invalid KubeROS manifest: kind "RegistryToken"`)

		_, _, err = runCLI(t, "", "check")
		require.Error(t, err, "-f is required")
	})
}
