package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/controller"
)

// admitWithCopy creates a Pod that pulls with the token in each namespace, so that the
// webhook copies it there, and returns the namespaces.
func admitWithCopy(t *testing.T, tok *corev1.Secret, prefix string, n int) []string {
	t.Helper()
	list := fmt.Sprintf(`[{"name":"default","imagePullSecretName":%q}]`, tok.Name)
	namespaces := make([]string, n)
	for i := range namespaces {
		namespaces[i] = newNamespace(t, prefix, true, nil)
		_, err := createPod(t, namespaces[i], pod("robot", "any.example.com/app:v1",
			contract.ContainerRegistry, list))
		require.NoError(t, err)
		requireCopy(t, namespaces[i], tok)
	}
	return namespaces
}

// rotate replaces the token's data, as `token update --token-stdin` does.
func rotate(t *testing.T, name, password string) *corev1.Secret {
	t.Helper()
	ctx := context.Background()
	tok, err := kube.CoreV1().Secrets(storeNamespace).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	config, err := json.Marshal(map[string]any{"auths": map[string]any{
		tok.Annotations[contract.RegistryURL]: map[string]string{
			"username": "robot", "password": password,
		},
	}})
	require.NoError(t, err)
	rememberSecret(password)
	tok.Data[corev1.DockerConfigJsonKey] = config
	updated, err := kube.CoreV1().Secrets(storeNamespace).Update(ctx, tok, metav1.UpdateOptions{})
	require.NoError(t, err)
	return updated
}

// copyIs reports whether the copy in the namespace holds the token's data now.
func copyIs(namespace string, tok *corev1.Secret) bool {
	copied, err := kube.CoreV1().Secrets(namespace).Get(context.Background(), tok.Name,
		metav1.GetOptions{})
	return err == nil &&
		string(copied.Data[corev1.DockerConfigJsonKey]) ==
			string(tok.Data[corev1.DockerConfigJsonKey])
}

func isGone(namespace, name string) bool {
	_, err := kube.CoreV1().Secrets(namespace).Get(context.Background(), name,
		metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func TestRotation(t *testing.T) {
	t.Run("a rotated token reaches its copies in 20 namespaces", func(t *testing.T) {
		tok := createToken(t, "rotate-token", "rotate.example.com", "")
		namespaces := admitWithCopy(t, tok, "rotate", 20)

		start := time.Now()
		rotated := rotate(t, tok.Name, "rotated-password-1")
		for _, ns := range namespaces {
			require.Eventually(t, func() bool { return copyIs(ns, rotated) },
				eventually, 20*time.Millisecond, "the copy in %s was never updated", ns)
		}
		t.Logf("rotation reached 20 copies in %s", time.Since(start).Round(time.Millisecond))
		assert.Eventually(t, func() bool {
			return gaugeValue(t, contract.MetricCopies, tok.Name) == 20
		}, eventually, 20*time.Millisecond, "the copies metric of the token never read 20")
	})
}

func TestTokenDeletion(t *testing.T) {
	t.Run("a deleted token takes every copy with it, and no other Secret", func(t *testing.T) {
		tok := createToken(t, "doomed-token", "doomed.example.com", "")
		namespaces := admitWithCopy(t, tok, "doomed", 3)
		theirs := newNamespace(t, "doomed-theirs", false, nil)
		foreign, err := kube.CoreV1().Secrets(theirs).Create(context.Background(),
			&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: tok.Name},
				Data:       map[string][]byte{"k": []byte("v")},
			}, metav1.CreateOptions{})
		require.NoError(t, err)

		require.NoError(t, kube.CoreV1().Secrets(storeNamespace).Delete(context.Background(),
			tok.Name, metav1.DeleteOptions{}))

		for _, ns := range namespaces {
			require.Eventually(t, func() bool { return isGone(ns, tok.Name) },
				eventually, 20*time.Millisecond, "the copy in %s outlived its token", ns)
		}
		after, err := kube.CoreV1().Secrets(theirs).Get(context.Background(), tok.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, foreign.ResourceVersion, after.ResourceVersion)
	})
}

func TestDriftRepair(t *testing.T) {
	tok := createToken(t, "drift-token", "drift.example.com", "")
	namespaces := admitWithCopy(t, tok, "drift", 2)
	ctx := context.Background()

	t.Run("a copy edited by hand is restored", func(t *testing.T) {
		ns := namespaces[0]
		patch := []byte(`{"data":{".dockerconfigjson":"e30="}}`)
		_, err := kube.CoreV1().Secrets(ns).Patch(ctx, tok.Name, types.MergePatchType, patch,
			metav1.PatchOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return copyIs(ns, tok) },
			eventually, 20*time.Millisecond, "the edited copy was never restored")
	})

	t.Run("a copy deleted while Pods still reference it is recreated", func(t *testing.T) {
		ns := namespaces[1]
		require.NoError(t, kube.CoreV1().Secrets(ns).Delete(ctx, tok.Name,
			metav1.DeleteOptions{}))
		require.Eventually(t, func() bool { return copyIs(ns, tok) },
			eventually, 20*time.Millisecond, "the deleted copy was never recreated")
	})

	t.Run("a copy deleted where no Pod references it stays deleted", func(t *testing.T) {
		ns := newNamespace(t, "drift-unused", true, nil)
		copied := tok.DeepCopy()
		copied.ObjectMeta = metav1.ObjectMeta{Name: tok.Name, Namespace: ns,
			Labels: contract.MirrorLabels(tok.Name)}
		_, err := kube.CoreV1().Secrets(ns).Create(ctx, copied, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, kube.CoreV1().Secrets(ns).Delete(ctx, tok.Name,
			metav1.DeleteOptions{}))

		// Reconciling that very copy now, synchronously, is what the controller does on the
		// delete event; it must leave the copy deleted.
		direct, err := client.New(restConfig, client.Options{})
		require.NoError(t, err)
		reconciler := &controller.TokenReconciler{
			Client: direct, APIReader: direct, TokenNamespace: storeNamespace,
		}
		_, err = reconciler.Reconcile(ctx, reconcile.Request{
			NamespacedName: types.NamespacedName{Namespace: ns, Name: tok.Name},
		})
		require.NoError(t, err)
		assert.True(t, isGone(ns, tok.Name), "a copy nobody references was recreated")
	})
}

func TestNamespaceNoLongerAllowed(t *testing.T) {
	t.Run("a namespace the token no longer allows loses its copy", func(t *testing.T) {
		tok := createToken(t, "narrowed-token", "narrowed.example.com", "")
		namespaces := admitWithCopy(t, tok, "narrowed", 2)
		ctx := context.Background()

		current, err := kube.CoreV1().Secrets(storeNamespace).Get(ctx, tok.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		current.Annotations[contract.AllowedNamespaces] = namespaces[0]
		_, err = kube.CoreV1().Secrets(storeNamespace).Update(ctx, current,
			metav1.UpdateOptions{})
		require.NoError(t, err)

		require.Eventually(t, func() bool { return isGone(namespaces[1], tok.Name) },
			eventually, 20*time.Millisecond, "the copy stayed where it is no longer allowed")
		assert.True(t, copyIs(namespaces[0], tok), "the allowed copy stays")
	})
}
