package e2e

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
)

// TestKubeROSDeployment creates the Pods of a KubeROS manifest as KubeROS builds them.
func TestKubeROSDeployment(t *testing.T) {
	manifest, err := kuberos.ReadManifest(
		filepath.Join("testdata", "kuberos", "pick-and-place.deployment.yaml"))
	require.NoError(t, err)
	lab := createToken(t, "lab-registry-token", "registry.lab.example:5050", "")
	planning := createToken(t, "planning-registry-token", "planning.example.org/robotics", "")
	namespace := newNamespace(t, "ros-default", true, nil)

	pods, err := manifest.Pods(namespace)
	require.NoError(t, err)
	require.Len(t, pods, 6, "two robots with three modules each")

	want := map[string]struct {
		secret   *corev1.Secret
		registry string
		policy   corev1.PullPolicy
	}{
		"camera-driver": {lab, "default", corev1.PullAlways},
		"grasp-planner": {planning, "second-registry", corev1.PullIfNotPresent},
		"task-monitor":  {lab, "default", corev1.PullAlways},
	}

	for _, p := range pods {
		module := p.Spec.Containers[0].Name
		expected := want[module]
		t.Run(p.Name+" gets the Secret and policy of its registry entry", func(t *testing.T) {
			created, err := createPod(t, namespace, p)
			require.NoError(t, err)

			assert.Equal(t, []string{expected.secret.Name}, pullSecretNames(created),
				"the empty pull secret KubeROS writes is dropped, the resolved one added")
			assert.Equal(t, expected.policy, created.Spec.Containers[0].ImagePullPolicy)
			assert.Equal(t, module+"="+expected.registry, created.Annotations[contract.Injected])
			assert.Equal(t, p.Name, created.Labels["pod-name"])
			requireCopy(t, namespace, expected.secret)
		})
	}
}

// TestTwoRegistries is the KubeROS documentation's own case: one deployment, two
// registries, one module naming second-registry.
func TestTwoRegistries(t *testing.T) {
	list := `[{"name":"default","imagePullSecretName":"docs-default-token",` +
		`"imagePullPolicy":"Always"},{"name":"second-registry",` +
		`"imagePullSecretName":"docs-second-token","imagePullPolicy":"IfNotPresent"}]`
	first := createToken(t, "docs-default-token", "docs-default.example.com", "")
	second := createToken(t, "docs-second-token", "docs-second.example.com", "")
	namespace := newNamespace(t, "docs", true, nil)

	t.Run("a module without a registry name uses default", func(t *testing.T) {
		created, err := createPod(t, namespace, pod("robot-listener",
			"docs-default.example.com/listener:v1", contract.ContainerRegistry, list))
		require.NoError(t, err)
		assert.Equal(t, []string{first.Name}, pullSecretNames(created))
		assert.Equal(t, corev1.PullAlways, created.Spec.Containers[0].ImagePullPolicy)
		requireCopy(t, namespace, first)
	})

	t.Run("a module naming second-registry uses its entry, even as the second item",
		func(t *testing.T) {
			created, err := createPod(t, namespace, pod("robot-talker",
				"docs-second.example.com/talker:v1",
				contract.ContainerRegistry, list,
				contract.ContainerRegistryName, "second-registry"))
			require.NoError(t, err)
			assert.Equal(t, []string{second.Name}, pullSecretNames(created))
			assert.Equal(t, corev1.PullIfNotPresent, created.Spec.Containers[0].ImagePullPolicy)
			assert.Equal(t, "main=second-registry", created.Annotations[contract.Injected])
			requireCopy(t, namespace, second)
		})
}
