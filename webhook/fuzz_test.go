package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// maxMessageBytes bounds what a response says: a denial repeats what it needs of the input,
// never the megabytes a hostile annotation may hold.
const maxMessageBytes = 4096

// rawRequest is a CREATE of a Pod in podNamespace whose object is raw.
func rawRequest(raw []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "request-fuzz",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: podNamespace,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}}
}

// handleSafely calls the handler and turns a panic into an error with its stack.
func handleSafely(
	h admission.Handler,
	req admission.Request,
) (resp admission.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	// The handler logs every denial: to no one here, at fuzzing speed.
	ctx := logf.IntoContext(context.Background(), logr.Discard())
	return h.Handle(ctx, req), nil
}

// checkResponse states what every response must be: allowed, or refused with a message and
// a code in 400..599, and never a message longer than maxMessageBytes.
func checkResponse(resp admission.Response) error {
	if resp.Result != nil && len(resp.Result.Message) > maxMessageBytes {
		return fmt.Errorf("the message is %d bytes, more than %d, and starts %.200q",
			len(resp.Result.Message), maxMessageBytes, resp.Result.Message)
	}
	if resp.Allowed {
		return nil
	}
	switch {
	case resp.Result == nil:
		return fmt.Errorf("a refusal without a Result")
	case resp.Result.Message == "":
		return fmt.Errorf("a refusal without a message (code %d)", resp.Result.Code)
	case resp.Result.Code < http.StatusBadRequest || resp.Result.Code > 599:
		return fmt.Errorf("a refusal with code %d: %s", resp.Result.Code, resp.Result.Message)
	}
	if len(resp.Patches) > 0 {
		return fmt.Errorf("a refusal with a patch: %v", resp.Patches)
	}
	return nil
}

// applyResponse applies the response's patch to the raw object, as the API server does.
func applyResponse(raw []byte, resp admission.Response) ([]byte, error) {
	ops, err := json.Marshal(resp.Patches)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the patch: %w", err)
	}
	patch, err := jsonpatchapply.DecodePatch(ops)
	if err != nil {
		return nil, fmt.Errorf("failed to decode the patch %s: %w", ops, err)
	}
	patched, err := patch.Apply(raw)
	if err != nil {
		return nil, fmt.Errorf("failed to apply the patch %s to %s: %w", ops, raw, err)
	}
	return patched, nil
}

// checkAdmission admits raw, checks the response, and when it is a patch, applies it and
// admits the result again: that must be allowed without a patch.
func checkAdmission(h admission.Handler, raw []byte) error {
	resp, err := handleSafely(h, rawRequest(raw))
	if err != nil {
		return err
	}
	if err := checkResponse(resp); err != nil {
		return err
	}
	if !resp.Allowed || len(resp.Patches) == 0 {
		return nil
	}

	patched, err := applyResponse(raw, resp)
	if err != nil {
		return err
	}
	again, err := handleSafely(h, rawRequest(patched))
	if err != nil {
		return fmt.Errorf("on the patched object: %w", err)
	}
	if err := checkResponse(again); err != nil {
		return fmt.Errorf("on the patched object: %w", err)
	}
	if !again.Allowed || len(again.Patches) > 0 {
		return fmt.Errorf("the patched object %s is not admitted unchanged: allowed %t, "+
			"patch %v, result %v", patched, again.Allowed, again.Patches, again.Result)
	}
	return nil
}

// fuzzHandler is a handler over a fake cluster with an opted-in namespace and two tokens.
// It emits no Events: a fuzz run would fill any buffer.
func fuzzHandler() admission.Handler {
	c := fake.NewClientBuilder().WithObjects(
		namespace(podNamespace, true),
		registryToken(tokenName, ""),
		registryToken("second-registry-token", ""),
	).Build()
	return NewPodMutator(Options{Client: c, Store: token.NewStore(c, c, storeNamespace)})
}

// annotatedPod is a valid KubeROS Pod with an init container and two containers, carrying
// the annotation values given.
func annotatedPod(list, names string) []byte {
	pod := kuberosAdmissionPod(map[string]string{
		contract.ContainerRegistry:     list,
		contract.ContainerRegistryName: names,
	})
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
		Name: "hello-world-listener", Image: tokenURL + "/ros2-basic-examples:v2-param"})
	raw, err := json.Marshal(pod)
	if err != nil {
		panic(err) // a Pod of strings always encodes
	}
	return raw
}

func FuzzHandle(f *testing.F) {
	second := defaultList + "\n- {name: second-registry, imagePullSecretName: " +
		"second-registry-token, imagePullPolicy: IfNotPresent}"
	seeds := []struct {
		raw         string
		list, names string
	}{
		{raw: string(annotatedPod(defaultList, "")), list: defaultList},
		{raw: `{}`, list: second, names: "hello-world-talker=second-registry,default"},
		{raw: `null`, list: `[{"name":"default","imagePullSecretName":"t"}]`, names: "setup=x"},
		{raw: `{"metadata":{"annotations":{}},"spec":{"containers":[{"name":"a",` +
			`"image":"registry.example.com/a"}]}}`, list: "{name: default}", names: "a,b"},
		{raw: `{"spec":{"containers":[{"name":"a","image":"registry.example.com/a"}],` +
			`"imagePullSecrets":[{"name":""},{"name":"own"}]}}`, list: "null", names: "=x"},
		{raw: `{"kind":"Secret","data":{"a":"Yg=="}}`, list: "- [a]", names: "c=,"},
		{raw: `[1,2]`, list: "- {name: a=b, imagePullSecretName: t}", names: "a=b=c"},
		{raw: `{"spec":"x"}`, list: "- {name: d, imagePullSecretName: T, imagePullPolicy: 1}",
			names: "\xff\xfe"},
		{raw: "", list: "- {name: default, imagePullSecretName: t, imagePullPolicy: always}",
			names: "ghost=default"},
	}
	for _, seed := range seeds {
		f.Add([]byte(seed.raw), seed.list, seed.names)
	}

	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, raw []byte, list, names string) {
		if err := checkAdmission(h, raw); err != nil {
			t.Fatalf("arbitrary bytes as the Pod: %v", err)
		}
		if err := checkAdmission(h, annotatedPod(list, names)); err != nil {
			t.Fatalf("a valid Pod with list %q and names %q: %v", list, names, err)
		}
	})
}
