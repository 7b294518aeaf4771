package kuberos

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// DefaultNamespace is where KubeROS creates its Pods.
const DefaultNamespace = "ros-default"

// ModulePod builds the Pod of one module for one robot as KubeROS does: named
// `<robot>-<module>`, the single label `pod-name`, one container named after the module,
// `restartPolicy: Never`, `imagePullSecrets: [{name: ""}]` and `imagePullPolicy: Always`. It
// adds what the webhook needs: the manifest's containerRegistry list and the module's
// containerRegistryName as annotations.
func (m *Manifest) ModulePod(
	robot string,
	module RosModule,
	namespace string,
) (*corev1.Pod, error) {
	name := robot + "-" + module.Name
	annotations := map[string]string{}
	if len(m.ContainerRegistry) > 0 {
		list, err := json.Marshal(m.ContainerRegistry)
		if err != nil {
			return nil, fmt.Errorf("failed to encode the containerRegistry list: %w", err)
		}
		annotations[contract.ContainerRegistry] = string(list)
	}
	if module.ContainerRegistryName != "" {
		annotations[contract.ContainerRegistryName] = module.ContainerRegistryName
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   namespace,
			Labels:      map[string]string{"pod-name": name},
			Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			RestartPolicy:    corev1.RestartPolicyNever,
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: ""}},
			Containers: []corev1.Container{{
				Name:            module.Name,
				Image:           module.Image,
				ImagePullPolicy: corev1.PullAlways,
			}},
		},
	}, nil
}

// Pods builds the Pods of every module for every robot the manifest targets.
func (m *Manifest) Pods(namespace string) ([]*corev1.Pod, error) {
	robots := m.Metadata.TargetRobots
	if len(robots) == 0 {
		robots = []string{m.Metadata.Name}
	}
	var pods []*corev1.Pod
	for _, robot := range robots {
		for _, module := range m.RosModules {
			pod, err := m.ModulePod(robot, module, namespace)
			if err != nil {
				return nil, err
			}
			pods = append(pods, pod)
		}
	}
	return pods, nil
}
