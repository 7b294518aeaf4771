package webhook

import (
	"encoding/json"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
)

const (
	talker   = "hello-world-talker"
	listener = "hello-world-listener"
	setup    = "setup"

	defaultToken = "kuberos-registry-token-default"
	secondToken  = "second-registry-token"

	injectedPath = "/metadata/annotations/registry.kuberos.io~1injected"
)

// testPod builds a Pod with the pull secrets, annotations and containers given, each
// container as name=policy with an empty policy left unset.
func testPod(
	secrets []string,
	annotations map[string]string,
	initContainers, containers map[string]corev1.PullPolicy,
	order ...string,
) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: talker, Namespace: "ros-default", Annotations: annotations}}
	for _, name := range secrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets,
			corev1.LocalObjectReference{Name: name})
	}
	for _, name := range order {
		if policy, ok := initContainers[name]; ok {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers,
				corev1.Container{Name: name, Image: "busybox", ImagePullPolicy: policy})
		}
		if policy, ok := containers[name]; ok {
			pod.Spec.Containers = append(pod.Spec.Containers,
				corev1.Container{Name: name, Image: "busybox", ImagePullPolicy: policy})
		}
	}
	return pod
}

// kuberosPod is a Pod as KubeROS creates it: `imagePullSecrets: [{name: ""}]`, one container
// with `imagePullPolicy: Always`, and an annotation (an empty map may be absent from JSON).
func kuberosPod() *corev1.Pod {
	return testPod([]string{""}, map[string]string{"kuberos.io/deployment": "hello-world"},
		nil, map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker)
}

func resolvedDefault(name string, init bool) registry.Container {
	return registry.Container{Name: name, Init: init, Registry: "default",
		Secret: defaultToken, Policy: corev1.PullAlways}
}

func resolvedSecond(name string, init bool) registry.Container {
	return registry.Container{Name: name, Init: init, Registry: "second-registry",
		Secret: secondToken, Policy: corev1.PullIfNotPresent}
}

func addSecrets(names ...string) jsonpatch.JsonPatchOperation {
	refs := make([]corev1.LocalObjectReference, len(names))
	for i, name := range names {
		refs[i] = corev1.LocalObjectReference{Name: name}
	}
	return jsonpatch.NewOperation("add", "/spec/imagePullSecrets", refs)
}

func addInjected(value string) jsonpatch.JsonPatchOperation {
	return jsonpatch.NewOperation("add", injectedPath, value)
}

func TestPlanPatch(t *testing.T) {
	tests := []struct {
		name      string
		pod       *corev1.Pod
		resolved  []registry.Container
		want      []jsonpatch.JsonPatchOperation
		wantNames []string
	}{
		{
			name:     `KubeROS's [{name: ""}] is dropped and the resolved secret injected`,
			pod:      kuberosPod(),
			resolved: []registry.Container{resolvedDefault(talker, false)},
			want: []jsonpatch.JsonPatchOperation{
				addSecrets(defaultToken),
				addInjected(talker + "=default"),
			},
			wantNames: []string{defaultToken},
		},
		{
			name: "own secrets are kept first and resolved ones appended without duplicates",
			pod: testPod([]string{"own-b", secondToken, "own-a"}, someAnnotations(), nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways,
					listener: corev1.PullIfNotPresent}, talker, listener),
			resolved: []registry.Container{
				resolvedDefault(talker, false),
				resolvedSecond(listener, false),
			},
			want: []jsonpatch.JsonPatchOperation{
				addSecrets("own-b", secondToken, "own-a", defaultToken),
				addInjected(talker + "=default," + listener + "=second-registry"),
			},
			wantNames: []string{"own-b", secondToken, "own-a", defaultToken},
		},
		{
			name: "a pull policy is written only for the container where it differs",
			pod: testPod([]string{defaultToken}, someAnnotations(), nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways,
					listener: corev1.PullAlways}, talker, listener),
			resolved: []registry.Container{
				resolvedDefault(talker, false),
				{Name: listener, Registry: "default", Secret: defaultToken,
					Policy: corev1.PullNever},
			},
			want: []jsonpatch.JsonPatchOperation{
				jsonpatch.NewOperation("add", "/spec/containers/1/imagePullPolicy", "Never"),
				addInjected(talker + "=default," + listener + "=default"),
			},
			wantNames: []string{defaultToken},
		},
		{
			name: "an entry without a policy leaves the container's policy alone",
			pod: testPod([]string{defaultToken}, someAnnotations(), nil,
				map[string]corev1.PullPolicy{talker: corev1.PullIfNotPresent}, talker),
			resolved: []registry.Container{
				{Name: talker, Registry: "default", Secret: defaultToken},
			},
			want:      []jsonpatch.JsonPatchOperation{addInjected(talker + "=default")},
			wantNames: []string{defaultToken},
		},
		{
			name: "the pull policy of an init container is written at its own index",
			pod: testPod(nil, someAnnotations(),
				map[string]corev1.PullPolicy{"other-init": "", setup: corev1.PullAlways},
				map[string]corev1.PullPolicy{talker: corev1.PullAlways},
				"other-init", setup, talker),
			resolved: []registry.Container{
				resolvedSecond(setup, true),
				resolvedDefault(talker, false),
			},
			want: []jsonpatch.JsonPatchOperation{
				addSecrets(secondToken, defaultToken),
				jsonpatch.NewOperation("add", "/spec/initContainers/1/imagePullPolicy",
					"IfNotPresent"),
				addInjected(setup + "=second-registry," + talker + "=default"),
			},
			wantNames: []string{secondToken, defaultToken},
		},
		{
			name: "an init container and a container of the same name are told apart",
			pod: testPod(nil, someAnnotations(),
				map[string]corev1.PullPolicy{talker: corev1.PullAlways},
				map[string]corev1.PullPolicy{listener: "", talker: corev1.PullAlways},
				listener, talker),
			resolved: []registry.Container{resolvedSecond(talker, true)},
			want: []jsonpatch.JsonPatchOperation{
				addSecrets(secondToken),
				jsonpatch.NewOperation("add", "/spec/initContainers/0/imagePullPolicy",
					"IfNotPresent"),
				addInjected(talker + "=second-registry"),
			},
			wantNames: []string{secondToken},
		},
		{
			name: "a Pod without annotations gets the whole annotation map added",
			pod: testPod([]string{defaultToken}, nil, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker),
			resolved: []registry.Container{resolvedDefault(talker, false)},
			want: []jsonpatch.JsonPatchOperation{
				jsonpatch.NewOperation("add", "/metadata/annotations",
					map[string]string{contract.Injected: talker + "=default"}),
			},
			wantNames: []string{defaultToken},
		},
		{
			name: "a stale injected annotation is replaced",
			pod: testPod([]string{defaultToken},
				map[string]string{contract.Injected: talker + "=second-registry"}, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker),
			resolved:  []registry.Container{resolvedDefault(talker, false)},
			want:      []jsonpatch.JsonPatchOperation{addInjected(talker + "=default")},
			wantNames: []string{defaultToken},
		},
		{
			name: "nothing resolved and no empty names yields no operations",
			pod: testPod([]string{"own"}, nil, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker),
			wantNames: []string{"own"},
		},
		{
			name: "nothing resolved and no pull secrets yields no operations",
			pod: testPod(nil, nil, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker),
			wantNames: []string{},
		},
		{
			name: "only empty names yields a remove",
			pod: testPod([]string{"", ""}, nil, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker),
			want: []jsonpatch.JsonPatchOperation{
				jsonpatch.NewOperation("remove", "/spec/imagePullSecrets", nil),
			},
			wantNames: []string{},
		},
		{
			name: "an empty name among own secrets is dropped, the others kept",
			pod: testPod([]string{"", "own"}, nil, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker),
			want:      []jsonpatch.JsonPatchOperation{addSecrets("own")},
			wantNames: []string{"own"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planPatch(tt.pod, tt.resolved)

			assert.Equal(t, tt.want, got.ops)
			assert.Equal(t, tt.wantNames, got.pullSecrets)
			assert.Equal(t, injectedValue(tt.resolved), got.injected)
		})
	}
}

// decodePod returns the Pod as the handler sees it: decoded from its JSON, where an empty
// annotation map is absent.
func decodePod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	data, err := json.Marshal(pod)
	require.NoError(t, err)
	out := &corev1.Pod{}
	require.NoError(t, json.Unmarshal(data, out))
	return out
}

// applyPlan applies the plan's operations to the Pod's JSON as the API server would, and
// returns the patched Pod.
func applyPlan(t *testing.T, pod *corev1.Pod, p plan) *corev1.Pod {
	t.Helper()
	original, err := json.Marshal(pod)
	require.NoError(t, err)
	ops, err := json.Marshal(p.ops)
	require.NoError(t, err)
	decoded, err := jsonpatchapply.DecodePatch(ops)
	require.NoError(t, err)
	patched, err := decoded.Apply(original)
	require.NoError(t, err)

	out := &corev1.Pod{}
	require.NoError(t, json.Unmarshal(patched, out))
	return out
}

func TestPlanPatchIsIdempotent(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		resolved []registry.Container
	}{
		{
			name:     "a KubeROS Pod patched once yields no operations",
			pod:      kuberosPod(),
			resolved: []registry.Container{resolvedSecond(talker, false)},
		},
		{
			name: "a Pod without annotations patched once yields no operations",
			pod: testPod(nil, nil,
				map[string]corev1.PullPolicy{setup: ""},
				map[string]corev1.PullPolicy{talker: corev1.PullAlways,
					listener: corev1.PullAlways}, setup, talker, listener),
			resolved: []registry.Container{
				resolvedSecond(setup, true),
				resolvedDefault(talker, false),
				resolvedSecond(listener, false),
			},
		},
		{
			name: "a Pod with own secrets patched once yields no operations",
			pod: testPod([]string{"own", "", defaultToken}, map[string]string{"a": "b"}, nil,
				map[string]corev1.PullPolicy{talker: corev1.PullNever}, talker),
			resolved: []registry.Container{resolvedSecond(talker, false)},
		},
		{
			name: "a Pod whose only pull secret was empty yields no operations once removed",
			pod:  testPod([]string{""}, nil, nil, map[string]corev1.PullPolicy{talker: ""}, talker),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := decodePod(t, tt.pod)
			first := planPatch(pod, tt.resolved)
			require.NotEmpty(t, first.ops, "the first pass changes the Pod")

			patched := applyPlan(t, pod, first)
			second := planPatch(patched, tt.resolved)

			assert.Empty(t, second.ops, "a second pass changes nothing")
			assert.Equal(t, first.pullSecrets, second.pullSecrets)
			assert.Equal(t, first.injected, second.injected)
		})
	}
}

func TestPlanPatchOfAResolvedKubeROSPod(t *testing.T) {
	pod := kuberosPod()
	pod.Annotations[contract.ContainerRegistry] = "- name: default\n" +
		"  imagePullSecretName: " + defaultToken + "\n" +
		"- name: second-registry\n" +
		"  imagePullSecretName: " + secondToken + "\n" +
		"  imagePullPolicy: IfNotPresent\n"
	pod.Annotations[contract.ContainerRegistryName] = "second-registry"

	resolved, err := registry.Resolve(pod, nil, nil)
	require.NoError(t, err)
	patched := applyPlan(t, pod, planPatch(pod, resolved))

	assert.Equal(t, []corev1.LocalObjectReference{{Name: secondToken}},
		patched.Spec.ImagePullSecrets)
	assert.Equal(t, corev1.PullIfNotPresent, patched.Spec.Containers[0].ImagePullPolicy)
	assert.Equal(t, talker+"=second-registry", patched.Annotations[contract.Injected])

	again, err := registry.Resolve(patched, nil, nil)
	require.NoError(t, err)
	assert.Empty(t, planPatch(patched, again).ops, "a second admission changes nothing")
}

func TestPullSecrets(t *testing.T) {
	tests := []struct {
		name     string
		own      []string
		resolved []registry.Container
		want     []string
	}{
		{name: "no own and nothing resolved gives no names", want: []string{}},
		{
			name: `KubeROS's [{name: ""}] is dropped`,
			own:  []string{""},
			want: []string{},
		},
		{
			name: "own secrets are kept in order",
			own:  []string{"b", "a"},
			want: []string{"b", "a"},
		},
		{
			name:     "resolved secrets are appended after own ones",
			own:      []string{"own"},
			resolved: []registry.Container{resolvedDefault(talker, false)},
			want:     []string{"own", defaultToken},
		},
		{
			name: "a resolved secret already among own ones is not repeated",
			own:  []string{secondToken, "own"},
			resolved: []registry.Container{
				resolvedDefault(talker, false),
				resolvedSecond(listener, false),
			},
			want: []string{secondToken, "own", defaultToken},
		},
		{
			name: "containers resolved to the same secret give it once, in first order",
			resolved: []registry.Container{
				resolvedSecond(setup, true),
				resolvedDefault(talker, false),
				resolvedSecond(listener, false),
			},
			want: []string{secondToken, defaultToken},
		},
		{
			name: "duplicate and empty own names are dropped",
			own:  []string{"a", "", "a", "b", ""},
			want: []string{"a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var own []corev1.LocalObjectReference
			for _, name := range tt.own {
				own = append(own, corev1.LocalObjectReference{Name: name})
			}
			assert.Equal(t, tt.want, pullSecrets(own, tt.resolved))
		})
	}
}

func TestInjectedValue(t *testing.T) {
	tests := []struct {
		name     string
		resolved []registry.Container
		want     string
	}{
		{name: "nothing resolved is empty", want: ""},
		{
			name:     "one container is one pair",
			resolved: []registry.Container{resolvedDefault(talker, false)},
			want:     talker + "=default",
		},
		{
			name: "pairs are written in the order resolved, separated by commas",
			resolved: []registry.Container{
				resolvedSecond(setup, true),
				resolvedDefault(talker, false),
				resolvedSecond(listener, false),
			},
			want: setup + "=second-registry," + talker + "=default," + listener +
				"=second-registry",
		},
		{
			name: "a container matched by its image names the token",
			resolved: []registry.Container{{Name: talker, Registry: "example-token",
				Secret: "example-token", ByImage: true}},
			want: talker + "=example-token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, injectedValue(tt.resolved))
		})
	}
}

func TestEscapePointer(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{name: "a plain token is unchanged", token: "injected", want: "injected"},
		{
			name:  "the annotation key escapes / as ~1",
			token: contract.Injected,
			want:  "registry.kuberos.io~1injected",
		},
		{name: "~ is escaped as ~0", token: "a~b", want: "a~0b"},
		{
			name:  "~ is escaped before / so an escaped / is not escaped again",
			token: "a/~1/b",
			want:  "a~1~01~1b",
		},
		{name: "an empty token stays empty", token: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, escapePointer(tt.token))
		})
	}
}

// someAnnotations is a non-empty annotation map: an empty one may be absent from the Pod's
// JSON, and gets the whole map added instead.
func someAnnotations() map[string]string {
	return map[string]string{"kuberos.io/deployment": "hello-world"}
}

func TestPlanPatchOfAnEmptyAnnotationMap(t *testing.T) {
	t.Run("a Pod with an empty annotation map is patched correctly", func(t *testing.T) {
		pod := testPod([]string{""}, map[string]string{},
			nil, map[string]corev1.PullPolicy{talker: corev1.PullAlways}, talker)
		resolved := []registry.Container{resolvedDefault(talker, false)}

		patched := applyPlan(t, pod, planPatch(pod, resolved))

		assert.Equal(t, talker+"=default", patched.Annotations[contract.Injected])
		assert.Empty(t, planPatch(patched, resolved).ops, "a second pass changes nothing")
	})
}
