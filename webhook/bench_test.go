package webhook

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// The benchmarks of this file compare the handler with the least any Pod webhook must do:
// decode the AdmissionReview and its Pod, and encode a response. Both read the same bytes.
// `make bench` runs them and reports the ratio in BENCHMARKS.md.

// benchSecondToken is the token of the second registry of the benchmark Pod.
const benchSecondToken = "second-registry-token"

// benchReview is the AdmissionReview of a Pod as KubeROS builds it, with three containers:
// two pull from the default registry, one names the second registry.
func benchReview(b *testing.B) []byte {
	b.Helper()
	list := `[{"name":"default","imagePullSecretName":"` + tokenName +
		`","imagePullPolicy":"Always"},{"name":"second-registry","imagePullSecretName":"` +
		benchSecondToken + `","imagePullPolicy":"IfNotPresent"}]`
	container := func(name string) corev1.Container {
		return corev1.Container{
			Name:            name,
			Image:           tokenURL + "/ros2-basic-examples:" + name,
			ImagePullPolicy: corev1.PullAlways,
		}
	}
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "simbot-1-talker",
			Namespace: podNamespace,
			Labels:    map[string]string{"pod-name": "simbot-1-talker"},
			Annotations: map[string]string{
				contract.ContainerRegistry:     list,
				contract.ContainerRegistryName: "listener=second-registry",
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:    corev1.RestartPolicyNever,
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: ""}},
			Containers: []corev1.Container{
				container(talker), container("listener"), container("rosbridge"),
			},
		},
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		b.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "bench-request",
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: podNamespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// benchMutator is the handler over a fake cluster in steady state: the namespace opted in,
// both tokens in the store and their copies already in the namespace, so no request writes.
func benchMutator() admission.Handler {
	objects := []client.Object{namespace(podNamespace, true)}
	for _, name := range []string{tokenName, benchSecondToken} {
		source := registryToken(name, "")
		objects = append(objects, source, token.NewCopy(source, podNamespace))
	}
	c := fake.NewClientBuilder().WithObjects(objects...).Build()
	return NewPodMutator(Options{Client: c, Store: token.NewStore(c, c, storeNamespace)})
}

// decodeReview decodes the AdmissionReview as the serving side does before any handler runs.
func decodeReview(b *testing.B, body []byte) admission.Request {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		b.Fatal(err)
	}
	return admission.Request{AdmissionRequest: *review.Request}
}

// encodeResponse encodes the response as the serving side does after the handler.
func encodeResponse(b *testing.B, resp admission.Response) []byte {
	out, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Response: &resp.AdmissionResponse,
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkHandleKubeROSPod decodes the review, runs the handler, completes its patch and
// encodes the response.
func BenchmarkHandleKubeROSPod(b *testing.B) {
	logf.SetLogger(logr.Discard())
	body := benchReview(b)
	handler := benchMutator()
	ctx := context.Background()

	// One pass outside the timer checks that the steady state patches the Pod.
	resp := handler.Handle(ctx, decodeReview(b, body))
	if !resp.Allowed || len(resp.Patches) == 0 {
		b.Fatalf("the benchmark Pod was not patched: %+v", resp.Result)
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := decodeReview(b, body)
		resp := handler.Handle(ctx, req)
		if err := resp.Complete(req); err != nil {
			b.Fatal(err)
		}
		encodeResponse(b, resp)
	}
}

// BenchmarkDecodeEncodeFloor is the floor: the same decoding and encoding, the Pod decoded,
// and no logic.
func BenchmarkDecodeEncodeFloor(b *testing.B) {
	body := benchReview(b)

	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := decodeReview(b, body)
		pod := &corev1.Pod{}
		if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
			b.Fatal(err)
		}
		resp := admission.Allowed("")
		if err := resp.Complete(req); err != nil {
			b.Fatal(err)
		}
		encodeResponse(b, resp)
	}
}

// cacheReads is a client whose reads come out of memory, as the deployed webhook's informer
// cache serves them: with UnsafeDisableDeepCopy (pkg/server), a Get copies the cached struct
// and shares its maps, instead of the fake client's JSON round trip.
type cacheReads struct {
	client.Client
	namespaces map[string]*corev1.Namespace
	secrets    map[client.ObjectKey]*corev1.Secret
}

func (c *cacheReads) Get(
	ctx context.Context,
	key client.ObjectKey,
	obj client.Object,
	opts ...client.GetOption,
) error {
	switch out := obj.(type) {
	case *corev1.Namespace:
		if ns, ok := c.namespaces[key.Name]; ok {
			*out = *ns
			return nil
		}
	case *corev1.Secret:
		if s, ok := c.secrets[key]; ok {
			*out = *s
			return nil
		}
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// BenchmarkHandleKubeROSPodCachedReads is BenchmarkHandleKubeROSPod with reads served the
// way the informer cache serves them: the handler's own cost as deployed.
func BenchmarkHandleKubeROSPodCachedReads(b *testing.B) {
	logf.SetLogger(logr.Discard())
	body := benchReview(b)
	reads := &cacheReads{
		namespaces: map[string]*corev1.Namespace{podNamespace: namespace(podNamespace, true)},
		secrets:    map[client.ObjectKey]*corev1.Secret{},
	}
	var objects []client.Object
	for _, name := range []string{tokenName, benchSecondToken} {
		source := registryToken(name, "")
		copied := token.NewCopy(source, podNamespace)
		reads.secrets[client.ObjectKeyFromObject(source)] = source
		reads.secrets[client.ObjectKeyFromObject(copied)] = copied
		objects = append(objects, source, copied)
	}
	reads.Client = fake.NewClientBuilder().WithObjects(objects...).Build()
	handler := NewPodMutator(Options{Client: reads, Store: token.NewStore(reads, reads,
		storeNamespace)})
	ctx := context.Background()
	if resp := handler.Handle(ctx, decodeReview(b, body)); !resp.Allowed ||
		len(resp.Patches) == 0 {
		b.Fatalf("the benchmark Pod was not patched: %+v", resp.Result)
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := decodeReview(b, body)
		resp := handler.Handle(ctx, req)
		if err := resp.Complete(req); err != nil {
			b.Fatal(err)
		}
		encodeResponse(b, resp)
	}
}
