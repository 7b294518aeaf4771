package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// TestNamespaceAllowedTokens: a namespace administrator limits which tokens may be copied
// into the namespace, whatever the tokens allow, so that a tenant who may create Pods there
// cannot have another team's token copied in.
func TestNamespaceAllowedTokens(t *testing.T) {
	ctx := context.Background()
	ours := createToken(t, "team-a-token", "team-a.example.com", "")
	theirs := createToken(t, "team-b-token", "team-b.example.com", "")
	namespace := newNamespace(t, "limited", true, nil)
	setAllowedTokens := func(value string) {
		t.Helper()
		ns, err := kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		require.NoError(t, err)
		ns.Annotations[contract.AllowedTokens] = value
		_, err = kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	setAllowedTokens("team-a-*")

	t.Run("a token the namespace does not accept is never copied, and the user is told why",
		func(t *testing.T) {
			cs, warnings := clientWithWarnings(t)
			_, err := cs.CoreV1().Pods(namespace).Create(ctx, pod("wants-b",
				"team-b.example.com/app:v1", contract.ContainerRegistry,
				`[{"name":"default","imagePullSecretName":"team-b-token"}]`),
				metav1.CreateOptions{})
			require.NoError(t, err)
			requireNoSecret(t, namespace, theirs.Name)
			assert.Contains(t, warnings.all(), contract.AllowedTokens)
		})

	t.Run("image-host matching never picks a token the namespace does not accept",
		func(t *testing.T) {
			created, err := createPod(t, namespace, pod("matches-b", "team-b.example.com/app:v1"))
			require.NoError(t, err)
			assert.Empty(t, created.Spec.ImagePullSecrets)
			requireNoSecret(t, namespace, theirs.Name)
		})

	t.Run("a token the namespace accepts is copied", func(t *testing.T) {
		_, err := createPod(t, namespace, pod("wants-a", "team-a.example.com/app:v1"))
		require.NoError(t, err)
		requireCopy(t, namespace, ours)
	})

	t.Run("narrowing the namespace removes the copies it no longer accepts", func(t *testing.T) {
		setAllowedTokens("team-c-*")
		require.Eventually(t, func() bool { return isGone(namespace, ours.Name) },
			eventually, 20*time.Millisecond, "the copy stayed after the namespace refused it")
	})
}
