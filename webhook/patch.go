package webhook

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
)

// plan is what the webhook changes in a Pod: the JSON patch operations, the final pull
// secret names and the value of the injected annotation.
type plan struct {
	ops         []jsonpatch.JsonPatchOperation
	pullSecrets []string
	injected    string
}

// planPatch computes the patch for the resolved containers. It writes operations only for
// what differs, so a Pod the webhook already patched yields none. Each operation is an "add",
// which RFC 6902 defines as a replace when the member already exists.
func planPatch(pod *corev1.Pod, resolved []registry.Container) plan {
	var p plan

	p.pullSecrets = pullSecrets(pod.Spec.ImagePullSecrets, resolved)
	if !samePullSecrets(pod.Spec.ImagePullSecrets, p.pullSecrets) {
		if len(p.pullSecrets) == 0 {
			p.ops = append(p.ops, jsonpatch.NewOperation("remove", "/spec/imagePullSecrets", nil))
		} else {
			refs := make([]corev1.LocalObjectReference, len(p.pullSecrets))
			for i, name := range p.pullSecrets {
				refs[i] = corev1.LocalObjectReference{Name: name}
			}
			p.ops = append(p.ops, jsonpatch.NewOperation("add", "/spec/imagePullSecrets", refs))
		}
	}

	for _, c := range resolved {
		if c.Policy == "" {
			continue
		}
		field, containers := "containers", pod.Spec.Containers
		if c.Init {
			field, containers = "initContainers", pod.Spec.InitContainers
		}
		i := slices.IndexFunc(containers, func(x corev1.Container) bool { return x.Name == c.Name })
		if i < 0 || containers[i].ImagePullPolicy == c.Policy {
			continue
		}
		path := "/spec/" + field + "/" + strconv.Itoa(i) + "/imagePullPolicy"
		p.ops = append(p.ops, jsonpatch.NewOperation("add", path, string(c.Policy)))
	}

	p.injected = injectedValue(resolved)
	if p.injected != "" && pod.Annotations[contract.Injected] != p.injected {
		// An empty map may be absent from the Pod's JSON: add the whole map then. Empty
		// metadata may be absent too (the API server always sends it, other callers may
		// not): add it whole, which loses nothing that is there.
		switch {
		case isEmptyMetadata(pod.ObjectMeta):
			value := map[string]map[string]string{"annotations": {contract.Injected: p.injected}}
			p.ops = append(p.ops, jsonpatch.NewOperation("add", "/metadata", value))
		case len(pod.Annotations) == 0:
			value := map[string]string{contract.Injected: p.injected}
			p.ops = append(p.ops, jsonpatch.NewOperation("add", "/metadata/annotations", value))
		default:
			path := "/metadata/annotations/" + escapePointer(contract.Injected)
			p.ops = append(p.ops, jsonpatch.NewOperation("add", path, p.injected))
		}
	}
	return p
}

// isEmptyMetadata reports whether the Pod's JSON may lack metadata: absent, null and {} all
// decode to the zero ObjectMeta.
func isEmptyMetadata(meta metav1.ObjectMeta) bool {
	return reflect.DeepEqual(meta, metav1.ObjectMeta{})
}

// pullSecrets returns the Pod's own pull secrets without empty names (KubeROS writes
// `[{name: ""}]` when a manifest has no registry list), then the resolved ones, without
// duplicates, in order.
func pullSecrets(own []corev1.LocalObjectReference, resolved []registry.Container) []string {
	names := make([]string, 0, len(own)+len(resolved))
	add := func(name string) {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, ref := range own {
		add(ref.Name)
	}
	for _, c := range resolved {
		add(c.Secret)
	}
	return names
}

func samePullSecrets(own []corev1.LocalObjectReference, names []string) bool {
	if len(own) != len(names) {
		return false
	}
	for i, ref := range own {
		if ref.Name != names[i] {
			return false
		}
	}
	return true
}

// injectedValue renders CONTAINER=REGISTRY pairs, init containers first, as resolved.
func injectedValue(resolved []registry.Container) string {
	var b strings.Builder
	for i, c := range resolved {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Name)
		b.WriteByte('=')
		b.WriteString(c.Registry)
	}
	return b.String()
}

// pointerEscaper is built once: a Replacer is safe for concurrent use.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// escapePointer escapes a JSON pointer token (RFC 6901): ~ becomes ~0 and / becomes ~1.
func escapePointer(token string) string {
	return pointerEscaper.Replace(token)
}
