package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

func TestNamespaceLabelFollowsAnnotation(t *testing.T) {
	ctx := context.Background()
	namespace := newNamespace(t, "follow", false, nil)
	setAnnotation := func(value *string) {
		t.Helper()
		ns, err := kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		require.NoError(t, err)
		if ns.Annotations == nil {
			ns.Annotations = map[string]string{}
		}
		if value == nil {
			delete(ns.Annotations, contract.Inject)
		} else {
			ns.Annotations[contract.Inject] = *value
		}
		_, err = kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	enabled, disabled := contract.InjectEnabled, "disabled"

	t.Run("the label is added with the annotation", func(t *testing.T) {
		setAnnotation(&enabled)
		waitForInjectLabel(t, namespace, contract.InjectEnabled)
	})
	t.Run("the label changes with the annotation", func(t *testing.T) {
		setAnnotation(&disabled)
		waitForInjectLabel(t, namespace, disabled)
	})
	t.Run("the label is removed with the annotation", func(t *testing.T) {
		setAnnotation(&enabled)
		waitForInjectLabel(t, namespace, contract.InjectEnabled)
		setAnnotation(nil)
		waitForInjectLabel(t, namespace, "")
	})
	t.Run("a label set by hand without the annotation is removed", func(t *testing.T) {
		ns, err := kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		require.NoError(t, err)
		ns.Labels[contract.Inject] = contract.InjectEnabled
		_, err = kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
		require.NoError(t, err)
		waitForInjectLabel(t, namespace, "")
	})
}

func TestPodsWithoutNameOrNamespace(t *testing.T) {
	tok := createToken(t, "nameless-token", "nameless.example.com", "")
	namespace := newNamespace(t, "nameless", true, nil)

	t.Run("a generateName Pod without a namespace in its object is mutated", func(t *testing.T) {
		p := pod("", "nameless.example.com/app:v1")
		p.GenerateName = "robot-"
		created, err := createPod(t, namespace, p)
		require.NoError(t, err)
		assert.NotEmpty(t, created.Name)
		assert.Equal(t, []string{tok.Name}, pullSecretNames(created))
		requireCopy(t, namespace, tok)
	})
}

func TestOwnOutputIsNotPatchedAgain(t *testing.T) {
	t.Run("admitting its own output produces no patch", func(t *testing.T) {
		tok := createToken(t, "again-token", "again.example.com", "")
		namespace := newNamespace(t, "again", true, nil)
		p := pod("robot-twice", "again.example.com/app:v1",
			contract.ContainerRegistry,
			`[{"name":"default","imagePullSecretName":"again-token","imagePullPolicy":"Never"}]`)
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: ""}}
		created, err := createPod(t, namespace, p)
		require.NoError(t, err)
		require.Equal(t, []string{tok.Name}, pullSecretNames(created))

		raw, err := json.Marshal(created)
		require.NoError(t, err)
		resp := mutator.Handle(context.Background(), admission.Request{
			AdmissionRequest: admissionv1.AdmissionRequest{
				UID:       types.UID("again"),
				Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
				Namespace: namespace,
				Operation: admissionv1.Create,
				Object:    runtime.RawExtension{Raw: raw},
			},
		})
		assert.True(t, resp.Allowed)
		assert.Empty(t, resp.Patches, "admitting its own output produces no patch")
	})
}
