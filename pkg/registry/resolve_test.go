package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

const (
	talker   = "hello-world-talker"
	listener = "hello-world-listener"
	image    = "registry.example.com/ros2-basic-examples:v2-param"
)

// podSpec describes a test Pod: its two annotations and its containers by name.
type podSpec struct {
	list  string // contract.ContainerRegistry, absent when empty
	names string // contract.ContainerRegistryName, absent when empty
	init  []string
	main  []string
	image string // of every container; image when empty
}

func (s podSpec) build() *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: talker, Namespace: "ros-default", Annotations: map[string]string{}}}
	if s.list != "" {
		pod.Annotations[contract.ContainerRegistry] = s.list
	}
	if s.names != "" {
		pod.Annotations[contract.ContainerRegistryName] = s.names
	}
	img := s.image
	if img == "" {
		img = image
	}
	for _, name := range s.init {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers,
			corev1.Container{Name: name, Image: img})
	}
	for _, name := range s.main {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: name, Image: img})
	}
	return pod
}

var (
	defaultEntry = Container{Name: talker, Registry: "default",
		Secret: "kuberos-registry-token-default", Policy: corev1.PullAlways}
	secondEntry = Container{Name: talker, Registry: "second-registry",
		Secret: "second-registry-token", Policy: corev1.PullIfNotPresent}
	exampleToken = Token{Name: "example-token", RegistryURL: "registry.example.com"}
)

// named returns c for another container.
func named(c Container, name string, init bool) Container {
	c.Name, c.Init = name, init
	return c
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		pod     podSpec
		cluster []Entry
		tokens  []Token
		want    []Container
	}{
		{name: "a KubeROS module without a registry name uses the default entry",
			pod:  podSpec{list: kuberosList, main: []string{talker}},
			want: []Container{defaultEntry}},
		{name: "a KubeROS module with a registry name uses that entry",
			pod:  podSpec{list: kuberosList, names: "second-registry", main: []string{talker}},
			want: []Container{secondEntry}},
		{name: "an explicit default that exists is used",
			pod:  podSpec{list: kuberosList, names: "default", main: []string{talker}},
			want: []Container{defaultEntry}},
		{name: "a Pod without lists or tokens is left alone",
			pod: podSpec{main: []string{talker}}},
		{name: "a pair names the registry of its container and the bare name the others",
			pod: podSpec{list: kuberosList, names: listener + "=second-registry,default",
				main: []string{talker, listener}},
			want: []Container{defaultEntry, named(secondEntry, listener, false)}},
		{name: "a container without a pair or bare name gets the default entry",
			pod: podSpec{list: kuberosList, names: listener + "=second-registry",
				main: []string{talker, listener}},
			want: []Container{defaultEntry, named(secondEntry, listener, false)}},
		{name: "init containers are resolved first, each list in order",
			pod: podSpec{list: kuberosList, names: "setup=second-registry",
				init: []string{"setup", "wait"}, main: []string{talker}},
			want: []Container{
				named(secondEntry, "setup", true), named(defaultEntry, "wait", true),
				defaultEntry,
			}},
		{name: "the cluster list applies to a Pod without its own",
			pod:     podSpec{main: []string{talker}},
			cluster: []Entry{{Name: "default", ImagePullSecretName: "cluster-token"}},
			want:    []Container{{Name: talker, Registry: "default", Secret: "cluster-token"}}},
		{name: "a Pod entry overrides the cluster entry of its name",
			pod:     podSpec{list: kuberosList, main: []string{talker}},
			cluster: []Entry{{Name: "default", ImagePullSecretName: "cluster-token"}},
			want:    []Container{defaultEntry}},
		{name: "a name the Pod's list lacks is found in the cluster list",
			pod: podSpec{list: "- {name: default, imagePullSecretName: pod-token}",
				names: "cluster-registry", main: []string{talker}},
			cluster: []Entry{{Name: "cluster-registry", ImagePullSecretName: "cluster-token",
				ImagePullPolicy: corev1.PullNever}},
			want: []Container{{Name: talker, Registry: "cluster-registry",
				Secret: "cluster-token", Policy: corev1.PullNever}}},
		{name: "an entry without a policy sets none",
			pod: podSpec{list: "- {name: default, imagePullSecretName: pod-token}",
				main: []string{talker}},
			want: []Container{{Name: talker, Registry: "default", Secret: "pod-token"}}},
		{name: "an implicit default found nowhere matches the image against the tokens",
			pod:    podSpec{main: []string{talker}},
			tokens: []Token{exampleToken},
			want: []Container{{Name: talker, Registry: "example-token",
				Secret: "example-token", ByImage: true}}},
		{name: "an implicit default found nowhere without a matching token is left alone",
			pod:    podSpec{main: []string{talker}, image: "quay.io/ros/talker:v1"},
			tokens: []Token{exampleToken}},
		{name: "a container matched by image sits beside one resolved by entry",
			pod: podSpec{list: "- {name: second-registry, imagePullSecretName: t}",
				names: "setup=second-registry", init: []string{"setup"},
				main: []string{talker}},
			tokens: []Token{exampleToken},
			want: []Container{
				{Name: "setup", Init: true, Registry: "second-registry", Secret: "t"},
				{Name: talker, Registry: "example-token", Secret: "example-token",
					ByImage: true},
			}},
		{name: "an entry wins over a token that matches the image",
			pod:    podSpec{list: kuberosList, main: []string{talker}},
			tokens: []Token{exampleToken},
			want:   []Container{defaultEntry}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := tt.pod.build()
			got, err := Resolve(pod, tt.cluster, tt.tokens)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			applied := apply(pod, got)
			again, err := Resolve(applied, tt.cluster, tt.tokens)
			require.NoError(t, err)
			assert.Equal(t, got, again, "a Pod already resolved resolves the same")
		})
	}
}

// apply does to a copy of the Pod what the webhook does with a resolution, so that the
// second pass sees a patched Pod.
func apply(pod *corev1.Pod, resolved []Container) *corev1.Pod {
	out := pod.DeepCopy()
	injected := ""
	for _, c := range resolved {
		list := out.Spec.Containers
		if c.Init {
			list = out.Spec.InitContainers
		}
		for i := range list {
			if list[i].Name == c.Name && c.Policy != "" {
				list[i].ImagePullPolicy = c.Policy
			}
		}
		out.Spec.ImagePullSecrets = append(out.Spec.ImagePullSecrets,
			corev1.LocalObjectReference{Name: c.Secret})
		injected += c.Name + "=" + c.Registry + ","
	}
	out.Annotations[contract.Injected] = injected
	return out
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		pod     podSpec
		cluster []Entry
		wantErr []string
	}{
		{name: "an unknown registry name is denied with the names that exist",
			pod: podSpec{list: kuberosList, names: "third-registry", main: []string{talker}},
			wantErr: []string{`spec.containers[0] (container "hello-world-talker")`,
				`registry name "third-registry"`, contract.ContainerRegistryName,
				"the names that exist are default, second-registry;",
				`"- {name: third-registry, imagePullSecretName: my-registry-token}"`}},
		{name: "an explicit default found nowhere is denied",
			pod:     podSpec{names: "default", main: []string{talker}},
			wantErr: []string{`registry name "default"`, "the names that exist are none;"}},
		{name: "an unknown name in a pair is denied at its container",
			pod: podSpec{list: kuberosList, names: listener + "=third",
				main: []string{talker, listener}},
			wantErr: []string{`spec.containers[1] (container "hello-world-listener")`,
				`registry name "third"`}},
		{name: "an unknown name for an init container is denied at its field path",
			pod: podSpec{list: kuberosList, names: "setup=third", init: []string{"setup"},
				main: []string{talker}},
			wantErr: []string{`spec.initContainers[0] (container "setup")`}},
		{name: "the names that exist are the Pod's and the cluster's, sorted, once each",
			pod: podSpec{list: kuberosList, names: "third", main: []string{talker}},
			cluster: []Entry{{Name: "default", ImagePullSecretName: "c"},
				{Name: "cluster-registry", ImagePullSecretName: "c"}},
			wantErr: []string{
				"the names that exist are cluster-registry, default, second-registry;"}},
		{name: "a pair naming a container the Pod lacks is denied with the Pod's containers",
			pod: podSpec{list: kuberosList, names: "hello-world-talkr=second-registry",
				init: []string{"setup"}, main: []string{talker}},
			wantErr: []string{contract.ContainerRegistryName,
				`container "hello-world-talkr" is not in the Pod`,
				"the Pod's containers are setup, hello-world-talker;",
				`"setup=second-registry"`}},
		{name: "a malformed containerRegistry list is denied",
			pod:     podSpec{list: "- {name: default}", main: []string{talker}},
			wantErr: []string{contract.ContainerRegistry, "has no imagePullSecretName"}},
		{name: "a malformed containerRegistryName is denied",
			pod:     podSpec{list: kuberosList, names: "a,b", main: []string{talker}},
			wantErr: []string{contract.ContainerRegistryName, "two bare names"}},
		{name: "an invalid policy in a cluster entry is denied with the allowed values",
			pod: podSpec{main: []string{talker}},
			cluster: []Entry{{Name: "default", ImagePullSecretName: "t",
				ImagePullPolicy: "Sometimes"}},
			wantErr: []string{`spec.containers[0] (container "hello-world-talker")`,
				"--config file", `imagePullPolicy "Sometimes"`, "Always, IfNotPresent or Never"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.pod.build(), tt.cluster, nil)
			require.Error(t, err)
			assert.Nil(t, got)
			msg := err.Error()
			for _, want := range tt.wantErr {
				assert.Contains(t, msg, want)
			}
			assertErrorStyle(t, msg)
		})
	}
}

func TestResolveWithoutPod(t *testing.T) {
	_, err := Resolve(nil, nil, nil)
	require.Error(t, err)
}
