package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// TestConcurrentFirstPods is the first-Pod race: many Pods of a namespace that holds no copy
// yet, admitted at once, all need the same Secret. Every one must be admitted and mutated,
// and the namespace must end with exactly one copy.
func TestConcurrentFirstPods(t *testing.T) {
	t.Run("200 first Pods in 10 namespaces make one copy per namespace", func(t *testing.T) {
		const namespaces, podsPer = 10, 20
		tok := createToken(t, "burst-token", "burst.example.com", "")
		list := `[{"name":"default","imagePullSecretName":"burst-token",` +
			`"imagePullPolicy":"Always"}]`

		names := make([]string, namespaces)
		for i := range names {
			names[i] = newNamespace(t, "burst", true, nil)
		}

		var wg sync.WaitGroup
		errs := make(chan error, namespaces*podsPer)
		start := time.Now()
		for _, ns := range names {
			for j := range podsPer {
				wg.Add(1)
				go func() {
					defer wg.Done()
					created, err := kube.CoreV1().Pods(ns).Create(context.Background(),
						pod(fmt.Sprintf("robot-%d", j), "burst.example.com/app:v1",
							contract.ContainerRegistry, list), metav1.CreateOptions{})
					switch {
					case err != nil:
						errs <- fmt.Errorf("%s/robot-%d: %w", ns, j, err)
					case len(created.Spec.ImagePullSecrets) != 1 ||
						created.Spec.ImagePullSecrets[0].Name != tok.Name:
						errs <- fmt.Errorf("%s/robot-%d was not mutated: %v", ns, j,
							created.Spec.ImagePullSecrets)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		t.Logf("%d Pods in %d namespaces admitted in %s", namespaces*podsPer, namespaces,
			time.Since(start).Round(time.Millisecond))
		for err := range errs {
			assert.NoError(t, err)
		}

		for _, ns := range names {
			copies, err := kube.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{
				LabelSelector: contract.Token + "=" + tok.Name,
			})
			require.NoError(t, err)
			assert.Len(t, copies.Items, 1, "exactly one copy in %s", ns)
			pods, err := kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			require.NoError(t, err)
			assert.Len(t, pods.Items, podsPer, "every Pod of %s was admitted", ns)
		}
	})
}
