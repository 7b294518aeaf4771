package webhook

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// event records an Event about the Pod being admitted. The Pod does not exist yet, so the
// Event names it by name (or generateName) in its namespace: `kubectl get events -n NS` and
// `kubectl describe` of a Pod by that name show it.
func (m *podMutator) event(pod *corev1.Pod, namespace, eventType, reason, note string) {
	if m.opts.Recorder == nil {
		return
	}
	regarding := &corev1.Pod{}
	regarding.Name = strings.TrimRight(podName(pod), "-.")
	regarding.Namespace = namespace
	regarding.UID = pod.UID
	m.opts.Recorder.Eventf(regarding, nil, eventType, reason, "Admit", "%s", note)
}
