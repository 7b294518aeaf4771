package kuberos

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
)

const (
	talker   = "hello-world-talker"
	listener = "hello-world-listener"
	image    = "registry.example.com/ros2-basic-examples:v2-param"
)

// twoRegistries is the manifest of DESIGN.md: two registries, the talker on the second.
const twoRegistries = `apiVersion: v1
kind: ApplicationDeployment
metadata:
  name: hi-kube
  targetRobots: ['simbot-1', 'simbot-2']
rosModules:
  - name: hello-world-talker
    image: registry.example.com/ros2-basic-examples:v2-param
    containerRegistryName: second-registry
  - name: hello-world-listener
    image: registry.example.com/ros2-basic-examples:v2-param
containerRegistry:
  - name: default
    imagePullSecretName: kuberos-registry-token-default
    imagePullPolicy: Always
  - name: second-registry
    imagePullSecretName: second-registry-token
    imagePullPolicy: IfNotPresent
`

var twoEntries = []registry.Entry{
	{Name: "default", ImagePullSecretName: "kuberos-registry-token-default",
		ImagePullPolicy: corev1.PullAlways},
	{Name: "second-registry", ImagePullSecretName: "second-registry-token",
		ImagePullPolicy: corev1.PullIfNotPresent},
}

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name string
		data string
		want *Manifest
	}{
		{
			name: "an ApplicationDeployment with two registries is read",
			data: twoRegistries,
			want: &Manifest{
				APIVersion: "v1",
				Kind:       KindApplicationDeployment,
				Metadata: Metadata{Name: "hi-kube",
					TargetRobots: []string{"simbot-1", "simbot-2"}},
				RosModules: []RosModule{
					{Name: talker, Image: image, ContainerRegistryName: "second-registry"},
					{Name: listener, Image: image},
				},
				ContainerRegistry: twoEntries,
			},
		},
		{
			name: "a BatchJob without a list is read and fields it does not know are ignored",
			data: "kind: BatchJob\nmetadata: {name: eva2, subname: test02}\n" +
				"jobSpec: {startupTimeout: 30}\n" +
				"rosModules:\n- {name: talker, image: img, entrypoint: [run]}\n",
			want: &Manifest{
				Kind:       KindBatchJob,
				Metadata:   Metadata{Name: "eva2"},
				RosModules: []RosModule{{Name: "talker", Image: "img"}},
			},
		},
		{
			name: "a manifest without modules is read",
			data: "kind: ApplicationDeployment\nmetadata: {name: empty}\n",
			want: &Manifest{Kind: KindApplicationDeployment, Metadata: Metadata{Name: "empty"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		contains []string
	}{
		{
			name:     "a wrong kind is an error naming the allowed kinds",
			data:     "kind: RegistryToken\nmetadata: {name: t}\n",
			contains: []string{`"RegistryToken"`, "ApplicationDeployment", "BatchJob"},
		},
		{
			name:     "a manifest without a kind is an error naming the allowed kinds",
			data:     "metadata: {name: t}\nrosModules: [{name: a, image: b}]\n",
			contains: []string{`kind ""`, "ApplicationDeployment", "BatchJob"},
		},
		{
			name:     "a kind in other case is an error",
			data:     "kind: batchjob\n",
			contains: []string{`"batchjob"`},
		},
		{
			name: "a module without image is an error naming the module",
			data: "kind: ApplicationDeployment\nrosModules:\n" +
				"- {name: a, image: img}\n- {name: b}\n",
			contains: []string{"rosModules[1]", "image"},
		},
		{
			name:     "a module without name is an error naming the module",
			data:     "kind: BatchJob\nrosModules:\n- {image: img}\n",
			contains: []string{"rosModules[0]", "name"},
		},
		{
			name:     "a document that is not YAML is an error",
			data:     "kind: [ApplicationDeployment\n",
			contains: []string{"invalid KubeROS manifest"},
		},
		{
			name:     "a module list of the wrong shape is an error",
			data:     "kind: ApplicationDeployment\nrosModules: {name: a}\n",
			contains: []string{"invalid KubeROS manifest"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tt.data))
			require.Error(t, err)
			assert.Nil(t, got)
			for _, s := range tt.contains {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestModulePod(t *testing.T) {
	m, err := ParseManifest([]byte(twoRegistries))
	require.NoError(t, err)

	pod, err := m.ModulePod("simbot-1", m.RosModules[0], DefaultNamespace)
	require.NoError(t, err)

	assert.Equal(t, "simbot-1-"+talker, pod.Name)
	assert.Equal(t, "ros-default", pod.Namespace)
	assert.Equal(t, map[string]string{"pod-name": "simbot-1-" + talker}, pod.Labels)
	assert.Equal(t, corev1.RestartPolicyNever, pod.Spec.RestartPolicy)
	assert.Equal(t, []corev1.LocalObjectReference{{Name: ""}}, pod.Spec.ImagePullSecrets)
	assert.Empty(t, pod.Spec.InitContainers)
	require.Len(t, pod.Spec.Containers, 1)
	assert.Equal(t, talker, pod.Spec.Containers[0].Name)
	assert.Equal(t, image, pod.Spec.Containers[0].Image)
	assert.Equal(t, corev1.PullAlways, pod.Spec.Containers[0].ImagePullPolicy)
	assert.Equal(t, "second-registry", pod.Annotations[contract.ContainerRegistryName])

	entries, err := registry.ParseEntries(pod.Annotations[contract.ContainerRegistry])
	require.NoError(t, err, "the list annotation is read by the webhook")
	assert.Equal(t, twoEntries, entries)
}

func TestModulePodAnnotations(t *testing.T) {
	tests := []struct {
		name     string
		entries  []registry.Entry
		module   RosModule
		wantList bool
		wantName string
	}{
		{
			name:     "a module with a registry name carries it",
			entries:  twoEntries,
			module:   RosModule{Name: talker, Image: image, ContainerRegistryName: "second"},
			wantList: true,
			wantName: "second",
		},
		{
			name:     "a module without a registry name carries the list only",
			entries:  twoEntries,
			module:   RosModule{Name: talker, Image: image},
			wantList: true,
		},
		{
			name:   "a manifest without a list gets no list annotation",
			module: RosModule{Name: talker, Image: image},
		},
		{
			name:     "a manifest with an empty list gets no list annotation",
			entries:  []registry.Entry{},
			module:   RosModule{Name: talker, Image: image, ContainerRegistryName: "x"},
			wantName: "x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manifest{Kind: KindApplicationDeployment, Metadata: Metadata{Name: "d"},
				RosModules: []RosModule{tt.module}, ContainerRegistry: tt.entries}

			pod, err := m.ModulePod("robot", tt.module, "ns")
			require.NoError(t, err)

			list, hasList := pod.Annotations[contract.ContainerRegistry]
			assert.Equal(t, tt.wantList, hasList)
			if tt.wantList {
				entries, err := registry.ParseEntries(list)
				require.NoError(t, err)
				assert.Equal(t, tt.entries, entries, "the list round-trips")
			}
			name, hasName := pod.Annotations[contract.ContainerRegistryName]
			assert.Equal(t, tt.wantName != "", hasName)
			assert.Equal(t, tt.wantName, name)
			assert.NotContains(t, pod.Annotations, contract.Injected)
			assert.NotContains(t, pod.Annotations, contract.Inject)
		})
	}
}

// podNames returns the names of the Pods, in order.
func podNames(pods []*corev1.Pod) []string {
	names := make([]string, 0, len(pods))
	for _, pod := range pods {
		names = append(names, pod.Name)
	}
	return names
}

func TestPods(t *testing.T) {
	modules := []RosModule{{Name: "a", Image: "img-a"}, {Name: "b", Image: "img-b"}}
	tests := []struct {
		name   string
		robots []string
		want   []string
	}{
		{
			name:   "every module is built for every target robot, robot by robot",
			robots: []string{"r1", "r2"},
			want:   []string{"r1-a", "r1-b", "r2-a", "r2-b"},
		},
		{
			name: "without targetRobots the manifest name is the robot",
			want: []string{"deploy-a", "deploy-b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manifest{Kind: KindBatchJob, RosModules: modules,
				Metadata: Metadata{Name: "deploy", TargetRobots: tt.robots}}

			pods, err := m.Pods("ns")
			require.NoError(t, err)

			assert.Equal(t, tt.want, podNames(pods))
			for _, pod := range pods {
				assert.Equal(t, "ns", pod.Namespace)
				assert.Equal(t, pod.Name, pod.Labels["pod-name"])
			}
		})
	}
}

func TestTheKubeROSManifests(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		kind     string
		modules  []RosModule
		entries  []registry.Entry
		wantPods []string
	}{
		{
			name: "the hello world deployment parses with its two modules and no list",
			file: "hello_world.deployment.yaml",
			kind: KindApplicationDeployment,
			modules: []RosModule{
				{Name: talker, Image: "metagoto/ros2-basic-examples_hello_world:humble-v1.0"},
				{Name: listener, Image: "metagoto/ros2-basic-examples_hello_world:humble-v1.0"},
			},
			wantPods: []string{"simbot-1-" + talker, "simbot-1-" + listener},
		},
		{
			name: "the batch job parses with its three modules and its default registry",
			file: "v2_batch_jobs.hello_world.yaml",
			kind: KindBatchJob,
			modules: []RosModule{
				{Name: talker, Image: "metagoto/ros2-basic-examples:v2-param",
					ContainerRegistryName: "default"},
				{Name: listener, Image: "metagoto/ros2-basic-examples:v2-param"},
				{Name: "task-coordinator", Image: "metagoto/ros2-basic-examples:v2-param"},
			},
			entries: []registry.Entry{
				{ //nolint:gosec // G101: the name of a Secret, not a credential
					Name:                "default",
					ImagePullSecretName: "kuberos-fogrobo-registry-token-test",
					ImagePullPolicy:     corev1.PullAlways,
				},
			},
			wantPods: []string{"eva2-" + talker, "eva2-" + listener, "eva2-task-coordinator"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadManifest(filepath.Join("testdata", tt.file))
			require.NoError(t, err)

			assert.Equal(t, tt.kind, m.Kind)
			assert.Equal(t, tt.modules, m.RosModules)
			assert.Equal(t, tt.entries, m.ContainerRegistry)

			pods, err := m.Pods(DefaultNamespace)
			require.NoError(t, err)
			assert.Equal(t, tt.wantPods, podNames(pods))
			for _, pod := range pods {
				entries, err := registry.ParseEntries(pod.Annotations[contract.ContainerRegistry])
				require.NoError(t, err)
				assert.Equal(t, tt.entries, entries, "the list reaches every Pod")
			}
		})
	}
}

func TestReadManifestOfAMissingFileIsAnError(t *testing.T) {
	_, err := ReadManifest(filepath.Join("testdata", "no-such-manifest.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to read manifest")
}
