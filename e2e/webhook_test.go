package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

func TestMultiContainerPods(t *testing.T) {
	list := `
- name: default
  imagePullSecretName: multi-default-token
- name: sensors
  imagePullSecretName: multi-sensors-token
  imagePullPolicy: IfNotPresent
- name: tools
  imagePullSecretName: multi-tools-token
  imagePullPolicy: Never
`
	def := createToken(t, "multi-default-token", "multi-default.example.com", "")
	sensors := createToken(t, "multi-sensors-token", "multi-sensors.example.com", "")
	tools := createToken(t, "multi-tools-token", "multi-tools.example.com", "")
	namespace := newNamespace(t, "multi", true, nil)

	t.Run("per-container names and a bare name resolve every container, init ones included",
		func(t *testing.T) {
			p := pod("robot-perception", "multi-default.example.com/fusion:v1",
				contract.ContainerRegistry, list,
				contract.ContainerRegistryName, "lidar=sensors,setup=tools,default")
			p.Spec.Containers = append(p.Spec.Containers,
				corev1.Container{Name: "lidar", Image: "multi-sensors.example.com/lidar:v2"})
			p.Spec.InitContainers = []corev1.Container{
				{Name: "setup", Image: "multi-tools.example.com/setup:v1"},
			}

			created, err := createPod(t, namespace, p)
			require.NoError(t, err)

			assert.Equal(t, []string{tools.Name, def.Name, sensors.Name},
				pullSecretNames(created), "init containers first, then containers, in order")
			assert.Equal(t, corev1.PullNever, created.Spec.InitContainers[0].ImagePullPolicy)
			assert.Equal(t, corev1.PullIfNotPresent, created.Spec.Containers[1].ImagePullPolicy)
			assert.Equal(t, "setup=tools,main=default,lidar=sensors",
				created.Annotations[contract.Injected])
			for _, tok := range []*corev1.Secret{def, sensors, tools} {
				requireCopy(t, namespace, tok)
			}
		})
}

func TestClusterRegistries(t *testing.T) {
	clusterToken := createToken(t, "cluster-token", "cluster.example.com", "")
	override := createToken(t, "shared-pod-token", "shared.example.com", "")
	createToken(t, "shared-cluster-token", "shared-cluster.example.com", "")
	namespace := newNamespace(t, "cluster", true, nil)

	t.Run("a name found only in the --config list uses the cluster entry", func(t *testing.T) {
		created, err := createPod(t, namespace, pod("uses-cluster",
			"cluster.example.com/app:v1", contract.ContainerRegistryName, "cluster-registry"))
		require.NoError(t, err)
		assert.Equal(t, []string{clusterToken.Name}, pullSecretNames(created))
		assert.Equal(t, corev1.PullIfNotPresent, created.Spec.Containers[0].ImagePullPolicy)
		requireCopy(t, namespace, clusterToken)
	})

	t.Run("an entry in the Pod's list overrides the cluster entry of that name",
		func(t *testing.T) {
			created, err := createPod(t, namespace, pod("overrides-cluster",
				"shared.example.com/app:v1",
				contract.ContainerRegistry,
				`[{"name":"shared","imagePullSecretName":"shared-pod-token"}]`,
				contract.ContainerRegistryName, "shared"))
			require.NoError(t, err)
			assert.Equal(t, []string{override.Name}, pullSecretNames(created))
			assert.Equal(t, corev1.PullIfNotPresent, created.Spec.Containers[0].ImagePullPolicy,
				"the Pod entry sets no policy, so the cluster entry's Never does not apply")
			requireCopy(t, namespace, override)
			requireNoSecret(t, namespace, "shared-cluster-token")
		})
}

func TestImageHostMatching(t *testing.T) {
	team := createToken(t, "match-team-token", "https://match.example.com:5050/team", "")
	namespace := newNamespace(t, "match", true, nil)

	t.Run("an image on a token's registry and path gets that token with no annotations",
		func(t *testing.T) {
			created, err := createPod(t, namespace, pod("matched",
				"match.example.com:5050/team/ros2-talker:v1"))
			require.NoError(t, err)
			assert.Equal(t, []string{team.Name}, pullSecretNames(created))
			assert.Equal(t, "main="+team.Name, created.Annotations[contract.Injected])
			requireCopy(t, namespace, team)
		})

	t.Run("an image on another port, path or host is left alone", func(t *testing.T) {
		for i, image := range []string{
			"match.example.com/team/ros2-talker:v1",
			"match.example.com:5050/other/ros2-talker:v1",
			"ros:rolling-ros-base",
		} {
			created, err := createPod(t, namespace, pod(fmt.Sprintf("unmatched-%d", i), image))
			require.NoError(t, err)
			assert.Empty(t, created.Spec.ImagePullSecrets, image)
			assert.NotContains(t, created.Annotations, contract.Injected, image)
		}
	})
}

func TestInvalidPodsAreDenied(t *testing.T) {
	namespace := newNamespace(t, "invalid", true, nil)
	list := `[{"name":"default","imagePullSecretName":"invalid-token"},` +
		`{"name":"second-registry","imagePullSecretName":"invalid-second"}]`

	cases := []struct {
		name        string
		annotations []string
		want        []string
	}{{
		name: "an unknown registry name names the container and the known names",
		annotations: []string{contract.ContainerRegistry, list,
			contract.ContainerRegistryName, "third-registry"},
		want: []string{`"main"`, "third-registry", "default", "second-registry",
			"cluster-registry"},
	}, {
		name: "a bad imagePullPolicy names the allowed values",
		annotations: []string{contract.ContainerRegistry,
			`[{"name":"default","imagePullSecretName":"t","imagePullPolicy":"Sometimes"}]`},
		want: []string{"Sometimes", "Always", "IfNotPresent", "Never", contract.ContainerRegistry},
	}, {
		name:        "malformed YAML names the annotation",
		annotations: []string{contract.ContainerRegistry, "- name: [default"},
		want:        []string{contract.ContainerRegistry},
	}, {
		name:        "a malformed registry name list names the annotation",
		annotations: []string{contract.ContainerRegistryName, "a,b"},
		want:        []string{contract.ContainerRegistryName},
	}}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := createPod(t, namespace, pod(fmt.Sprintf("denied-%d", i),
				"invalid.example.com/app:v1", tc.annotations...))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "denied the request")
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestNamespacesThatDidNotOptIn(t *testing.T) {
	t.Run("a Pod where nobody opted in is unchanged and never sent to us", func(t *testing.T) {
		createToken(t, "plain-token", "plain.example.com", "")
		namespace := newNamespace(t, "plain", false, nil)
		before := admissionCount(t)

		p := pod("untouched", "plain.example.com/app:v1",
			contract.ContainerRegistry, `[{"name":"default","imagePullSecretName":"plain-token"}]`)
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: ""}}
		created, err := createPod(t, namespace, p)
		require.NoError(t, err)

		assert.Equal(t, []string{""}, pullSecretNames(created), "the Pod is unchanged")
		assert.NotContains(t, created.Annotations, contract.Injected)
		assert.Equal(t, before, admissionCount(t), "the webhook was never called")
		requireNoSecret(t, namespace, "plain-token")
	})
}

func TestPodOptOut(t *testing.T) {
	t.Run("a Pod with the opt-out annotation is left alone", func(t *testing.T) {
		createToken(t, "optout-token", "optout.example.com", "")
		namespace := newNamespace(t, "optout", true, nil)

		created, err := createPod(t, namespace, pod("opted-out", "optout.example.com/app:v1",
			contract.Inject, contract.InjectDisabled,
			contract.ContainerRegistry,
			`[{"name":"default","imagePullSecretName":"optout-token"}]`))
		require.NoError(t, err)

		assert.Empty(t, created.Spec.ImagePullSecrets)
		assert.NotContains(t, created.Annotations, contract.Injected)
		requireNoSecret(t, namespace, "optout-token")
	})
}

func TestDryRun(t *testing.T) {
	t.Run("a dry-run shows the mutation and creates no Secret", func(t *testing.T) {
		createToken(t, "dryrun-token", "dryrun.example.com", "")
		namespace := newNamespace(t, "dryrun", true, nil)

		created, err := kube.CoreV1().Pods(namespace).Create(context.Background(),
			pod("dry", "dryrun.example.com/app:v1"),
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		require.NoError(t, err)

		assert.Equal(t, []string{"dryrun-token"}, pullSecretNames(created),
			"the mutation shows in the returned object")
		requireNoSecret(t, namespace, "dryrun-token")
		_, err = kube.CoreV1().Pods(namespace).Get(context.Background(), "dry", metav1.GetOptions{})
		assert.Error(t, err, "a dry-run stores no Pod")
	})
}

func TestMissingToken(t *testing.T) {
	list := `[{"name":"default","imagePullSecretName":"nowhere-token"}]`

	t.Run("in Warn mode the Pod is admitted and the warning reaches the client",
		func(t *testing.T) {
			namespace := newNamespace(t, "warn", true, nil)
			cs, warnings := clientWithWarnings(t)

			created, err := cs.CoreV1().Pods(namespace).Create(context.Background(),
				pod("warned", "nowhere.example.com/app:v1", contract.ContainerRegistry, list),
				metav1.CreateOptions{})
			require.NoError(t, err)

			assert.Equal(t, []string{"nowhere-token"}, pullSecretNames(created))
			assert.Contains(t, warnings.all(), `pull secret "nowhere-token" does not exist`)
			assert.Contains(t, warnings.all(), "token create nowhere-token --registry-url")
			requireEvent(t, namespace, contract.ReasonSecretMissing, "nowhere-token")
		})

	t.Run("in Deny mode the Pod is refused, naming the Secret and how to add it",
		func(t *testing.T) {
			namespace := newNamespace(t, "deny", true, map[string]string{denyLabel: "Deny"})

			_, err := createPod(t, namespace,
				pod("refused", "nowhere.example.com/app:v1", contract.ContainerRegistry, list))
			require.Error(t, err)
			assert.Contains(t, err.Error(), `pull secret "nowhere-token" does not exist`)
			assert.Contains(t, err.Error(), "token create nowhere-token --registry-url")
		})
}

func TestSecretsThatAreNotOurs(t *testing.T) {
	t.Run("a same-named Secret that is not ours stays unchanged", func(t *testing.T) {
		tok := createToken(t, "theirs-token", "theirs.example.com", "")
		namespace := newNamespace(t, "theirs", true, nil)
		theirs, err := kube.CoreV1().Secrets(namespace).Create(context.Background(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: tok.Name, Labels: map[string]string{"team": "a"}},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{"anything": []byte("theirs")},
		}, metav1.CreateOptions{})
		require.NoError(t, err)

		created, err := createPod(t, namespace, pod("uses-theirs", "theirs.example.com/app:v1"))
		require.NoError(t, err)
		assert.Equal(t, []string{tok.Name}, pullSecretNames(created))

		after, err := kube.CoreV1().Secrets(namespace).Get(context.Background(), tok.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, theirs.ResourceVersion, after.ResourceVersion, "the Secret was not written")
		assert.Equal(t, theirs.Labels, after.Labels)
		assert.Equal(t, theirs.Data, after.Data)
		assert.Equal(t, theirs.Type, after.Type)
	})
}

func TestAllowedNamespaces(t *testing.T) {
	tok := createToken(t, "fenced-token", "fenced.example.com", "team-a-*, robots")
	list := `[{"name":"default","imagePullSecretName":"fenced-token"}]`

	t.Run("a namespace the token does not allow never gets a copy, and is told why",
		func(t *testing.T) {
			namespace := newNamespace(t, "team-b", true, nil)
			cs, warnings := clientWithWarnings(t)
			_, err := cs.CoreV1().Pods(namespace).Create(context.Background(),
				pod("fenced", "fenced.example.com/app:v1", contract.ContainerRegistry, list),
				metav1.CreateOptions{})
			require.NoError(t, err)
			requireNoSecret(t, namespace, tok.Name)
			assert.Contains(t, warnings.all(), contract.AllowedNamespaces)
			assert.Contains(t, warnings.all(), "team-a-*, robots")
		})

	t.Run("the same Pod in Deny mode is refused with the reason", func(t *testing.T) {
		namespace := newNamespace(t, "team-c", true, map[string]string{denyLabel: "Deny"})
		_, err := createPod(t, namespace,
			pod("fenced", "fenced.example.com/app:v1", contract.ContainerRegistry, list))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "may not be copied there")
		requireNoSecret(t, namespace, tok.Name)
	})

	t.Run("a namespace matching a pattern gets its copy", func(t *testing.T) {
		namespace := newNamespace(t, "team-a-robots", true, nil)
		_, err := createPod(t, namespace,
			pod("allowed", "fenced.example.com/app:v1", contract.ContainerRegistry, list))
		require.NoError(t, err)
		requireCopy(t, namespace, tok)
	})
}

// requireEvent waits for an Event with the reason whose note mentions the text.
func requireEvent(t *testing.T, namespace, reason, text string) {
	t.Helper()
	require.Eventually(t, func() bool {
		list, err := kube.EventsV1().Events(namespace).List(context.Background(),
			metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.Reason == reason && strings.Contains(e.Note, text) {
				return true
			}
		}
		return false
	}, eventually, 50*time.Millisecond, "no %s Event mentioning %q in %s", reason, text, namespace)
}
