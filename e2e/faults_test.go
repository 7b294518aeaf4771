package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// The fault tests each start a control plane of their own and run the webhook as its
// binary, so that it can be killed, have its certificate replaced, lose its lease or lose
// its API server. Each reports its figure with reportFigure.

// creation is the outcome of one Pod creation.
type creation struct {
	namespace, name string
	pod             *corev1.Pod
	err             error
	started, ended  time.Time
}

// createPods creates n Pods of registryPod, spread over the namespaces, from the given
// number of goroutines. after is called with each outcome as it arrives, from the goroutine
// that created the Pod.
func (c *faultCluster) createPods(
	prefix string,
	namespaces []string,
	n, workers int,
	tokenName string,
	after func(creation),
) []creation {
	results := make([]creation, n)
	inParallel(n, workers, func(i int) {
		outcome := creation{
			namespace: namespaces[i%len(namespaces)],
			name:      fmt.Sprintf("%s-%03d", prefix, i),
			started:   time.Now(),
		}
		outcome.pod, outcome.err = c.cs.CoreV1().Pods(outcome.namespace).Create(
			context.Background(), registryPod(outcome.name, tokenName), metav1.CreateOptions{})
		outcome.ended = time.Now()
		results[i] = outcome
		if after != nil {
			after(outcome)
		}
	})
	return results
}

// requireAllCorrect asserts that every Pod of the namespaces is one the client saw
// admitted, mutated completely, and that each namespace holding one holds the token's copy.
func (c *faultCluster) requireAllCorrect(
	t *testing.T,
	namespaces []string,
	admitted map[string]bool,
	tok *corev1.Secret,
) {
	t.Helper()
	found := 0
	for _, ns := range namespaces {
		pods, err := c.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		for i := range pods.Items {
			p := &pods.Items[i]
			require.True(t, admitted[ns+"/"+p.Name],
				"Pod %s/%s exists but its creation was refused", ns, p.Name)
			require.Empty(t, mutationProblem(p, tok.Name))
			found++
		}
		if len(pods.Items) > 0 {
			require.Empty(t, c.copyProblem(ns, tok), "a Pod of %s was admitted without its "+
				"Secret", ns)
		}
	}
	require.Equal(t, len(admitted), found, "every admitted Pod is stored")
}

func TestFaultWebhookKilledInABurst(t *testing.T) {
	const (
		pods       = 300
		workers    = 20
		killAfter  = 100
		afterPods  = 60
		password   = "burst-s3cret-1"
		tokenName  = "burst-token"
		registryOf = "registry.faults.example:5050"
	)
	c := newFaultCluster(t)
	tok := c.storeToken(t, tokenName, registryOf, password)
	hook := c.startWebhook(t)
	hook.waitReady(t)
	c.registerWebhook(t, hook.port, tok)
	namespaces := c.optedInNamespaces(t, "burst", 6)

	t.Run("no Pod is admitted without its Secret or with a partial patch when the webhook "+
		"is killed in the middle of a burst, and every Pod after its restart is correct",
		func(t *testing.T) {
			var (
				admittedCount atomic.Int64
				killOnce      sync.Once
				killNow       = make(chan struct{})
				burstDone     = make(chan []creation, 1)
			)
			go func() {
				burstDone <- c.createPods("burst", namespaces, pods, workers, tokenName,
					func(outcome creation) {
						if outcome.err == nil && admittedCount.Add(1) == killAfter {
							killOnce.Do(func() { close(killNow) })
						}
					})
			}()
			select {
			case <-killNow:
			case <-burstDone:
				require.FailNow(t, "the burst ended before the webhook was killed")
			}
			killedAt := time.Now()
			hook.kill()
			burst := <-burstDone

			admitted := map[string]bool{}
			refused := 0
			for _, outcome := range burst {
				if outcome.err != nil {
					require.True(t, isWebhookRefusal(outcome.err),
						"a creation failed for another reason than the webhook: %v", outcome.err)
					require.False(t, outcome.ended.Before(killedAt),
						"a creation was refused while the webhook was up: %v", outcome.err)
					refused++
					continue
				}
				require.Empty(t, mutationProblem(outcome.pod, tokenName))
				admitted[outcome.namespace+"/"+outcome.name] = true
			}
			require.Positive(t, refused, "creations during the outage fail (failurePolicy Fail)")
			c.requireAllCorrect(t, namespaces, admitted, tok)
			admittedInBurst := len(admitted)

			hook.start(t)
			restartedAt := time.Now()
			probes := 0
			var recoveredAt time.Time
			require.Eventually(t, func() bool {
				probes++
				created, err := c.cs.CoreV1().Pods(namespaces[0]).Create(context.Background(),
					registryPod(fmt.Sprintf("recover-%d", probes), tokenName),
					metav1.CreateOptions{})
				if err != nil {
					refused++
					return false
				}
				recoveredAt = time.Now()
				admitted[created.Namespace+"/"+created.Name] = true
				assert.Empty(t, mutationProblem(created, tokenName))
				return true
			}, eventually, 20*time.Millisecond, "the restarted webhook never admitted a Pod; "+
				"logs:\n%s", hook.logs)

			fresh := c.optedInNamespaces(t, "after-restart", 2)
			all := append(append([]string{}, namespaces...), fresh...)
			for _, outcome := range c.createPods("after", all, afterPods, workers, tokenName,
				nil) {
				require.NoError(t, outcome.err, "a creation after the restart failed")
				require.Empty(t, mutationProblem(outcome.pod, tokenName))
				admitted[outcome.namespace+"/"+outcome.name] = true
			}
			c.requireAllCorrect(t, all, admitted, tok)
			requireNoTokenInLogs(t, []string{password}, hook)

			reportFigure(t, "webhook killed in a burst: Pods admitted in the burst",
				float64(admittedInBurst), "Pods")
			reportFigure(t, "webhook killed in a burst: Pods admitted after the restart",
				float64(len(admitted)-admittedInBurst), "Pods")
			reportFigure(t, "webhook killed in a burst: creations refused during the outage",
				float64(refused), "requests")
			reportFigure(t, "webhook killed in a burst: time from restart to the first "+
				"admission", milliseconds(recoveredAt.Sub(restartedAt)), "ms")
		})
}

func TestFaultServingCertificateReplacedUnderLoad(t *testing.T) {
	const (
		pods         = 600
		workers      = 20
		replacements = 5
		password     = "rotate-cert-s3cret-1" //nolint:gosec // G101: made up, looked for in logs
		tokenName    = "cert-token"
	)
	c := newFaultCluster(t)
	tok := c.storeToken(t, tokenName, "registry.faults.example:5050", password)
	hook := c.startWebhook(t)
	hook.waitReady(t)
	c.registerWebhook(t, hook.port, tok)
	namespaces := c.optedInNamespaces(t, "cert", 4)

	t.Run("replacing the serving certificate under load fails no request", func(t *testing.T) {
		var admittedCount atomic.Int64
		streamDone := make(chan []creation, 1)
		go func() {
			streamDone <- c.createPods("cert", namespaces, pods, workers, tokenName,
				func(outcome creation) {
					if outcome.err == nil {
						admittedCount.Add(1)
					}
				})
		}()

		// A replacement every 100 Pods; each is served before the next is written.
		servedWhileLoaded := 0
		for i := range replacements {
			threshold := int64(60 + 100*i)
			require.Eventually(t, func() bool { return admittedCount.Load() >= threshold },
				eventually, 5*time.Millisecond, "the stream stalled")
			serial := c.ca.writeServingCert(t, c.certDir)
			require.Eventually(t, func() bool { return servedSerial(t, hook.port) == serial },
				eventually, 5*time.Millisecond, "replacement %d was never served", i+1)
			if admittedCount.Load() < pods {
				servedWhileLoaded++
			}
		}
		stream := <-streamDone

		failed := 0
		admitted := map[string]bool{}
		for _, outcome := range stream {
			if outcome.err != nil {
				failed++
				t.Errorf("Pod %s/%s: %v", outcome.namespace, outcome.name, outcome.err)
				continue
			}
			require.Empty(t, mutationProblem(outcome.pod, tokenName))
			admitted[outcome.namespace+"/"+outcome.name] = true
		}
		require.Equal(t, replacements, servedWhileLoaded,
			"every replacement is served while Pods are still being created")
		require.Zero(t, failed)
		c.requireAllCorrect(t, namespaces, admitted, tok)
		requireNoTokenInLogs(t, []string{password}, hook)

		reportFigure(t, "serving certificate replaced under load: requests", float64(pods),
			"requests")
		reportFigure(t, "serving certificate replaced under load: replacements",
			float64(replacements), "certificates")
		reportFigure(t, "serving certificate replaced under load: failed requests",
			float64(failed), "requests")
	})
}

func TestFaultLeaderLostDuringARotation(t *testing.T) {
	const (
		copies      = 200
		oldPassword = "fleet-s3cret-1"
		newPassword = "fleet-s3cret-2"
		tokenName   = "fleet-token"
		// The survivor takes the lease once it expires: controller-runtime's lease is 15 s.
		convergence = 90 * time.Second
	)
	ctx := context.Background()
	c := newFaultCluster(t)
	tok := c.storeToken(t, tokenName, "registry.faults.example:5050", oldPassword)
	namespaces := c.optedInNamespaces(t, "fleet", copies)
	errs := make([]error, copies)
	inParallel(copies, 10, func(i int) {
		_, errs[i] = c.cs.CoreV1().Secrets(namespaces[i]).Create(ctx,
			token.NewCopy(tok, namespaces[i]), metav1.CreateOptions{})
	})
	for _, err := range errs {
		require.NoError(t, err)
	}

	// client-go's short timings, so that the survivor takes over quickly after a SIGKILL.
	fast := []string{"--leader-elect", "--leader-elect-lease-duration=15s",
		"--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=2s"}
	first := c.startWebhook(t, fast...)
	second := c.startWebhook(t, fast...)
	first.waitReady(t)
	second.waitReady(t)
	// No webhook configuration is registered: this test creates no Pod, only copies.

	t.Run("every copy is updated when the leader dies in the middle of a rotation",
		func(t *testing.T) {
			// client-go's leader election logs this once the lease is its own.
			const acquired = `"Successfully acquired lease"`
			const started = `"Starting workers","controller":"token-copies"`
			var leader, survivor *webhookProcess
			require.Eventually(t, func() bool {
				switch {
				case len(first.logs.lines(acquired)) > 0:
					leader, survivor = first, second
				case len(second.logs.lines(acquired)) > 0:
					leader, survivor = second, first
				}
				return leader != nil && len(leader.logs.lines(started)) > 0
			}, eventually, 20*time.Millisecond, "no binary became the leader")
			require.Empty(t, survivor.logs.lines(acquired), "two leaders at once")
			holder := leaseHolder(t, c)
			require.NotEmpty(t, holder)

			list, err := c.cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{
				LabelSelector: contract.Token + "=" + tokenName,
			})
			require.NoError(t, err)
			require.Equal(t, copies, len(list.Items)) // Len would print the Secrets
			watcher, err := c.cs.CoreV1().Secrets("").Watch(ctx, metav1.ListOptions{
				LabelSelector:   contract.Token + "=" + tokenName,
				ResourceVersion: list.ResourceVersion,
			})
			require.NoError(t, err)
			defer watcher.Stop()

			rotated := c.rotateToken(t, tok, newPassword)
			rotatedAt := time.Now()
			waitForFirstUpdate(t, watcher, rotated)
			leader.kill()
			killedAt := time.Now()
			updatedAtKill := c.countInStep(t, tokenName, rotated)
			require.Less(t, updatedAtKill, copies,
				"the leader finished the rotation before it died: nothing was left to recover")

			var convergedAt time.Time
			require.Eventually(t, func() bool {
				if c.countInStep(t, tokenName, rotated) < copies {
					return false
				}
				convergedAt = time.Now()
				return true
			}, convergence, 100*time.Millisecond, "not every copy holds the new data; the "+
				"survivor's logs:\n%s", survivor.logs)
			assert.NotEmpty(t, survivor.logs.lines(acquired), "the survivor took the lease")
			assert.NotEqual(t, holder, leaseHolder(t, c), "the lease changed hands")
			requireNoTokenInLogs(t, []string{oldPassword, newPassword}, first, second)

			reportFigure(t, "leader lost during a rotation: copies", float64(copies), "copies")
			reportFigure(t, "leader lost during a rotation: copies updated before the leader "+
				"died", float64(updatedAtKill), "copies")
			reportFigure(t, "leader lost during a rotation: time from the rotation to every "+
				"copy updated", milliseconds(convergedAt.Sub(rotatedAt)), "ms")
			reportFigure(t, "leader lost during a rotation: time from the leader's death to "+
				"every copy updated", milliseconds(convergedAt.Sub(killedAt)), "ms")
		})
}

// waitForFirstUpdate waits until the watch delivers the first copy holding the token's data.
func waitForFirstUpdate(t *testing.T, watcher watch.Interface, tok *corev1.Secret) {
	t.Helper()
	deadline := time.After(eventually)
	for {
		select {
		case event, ok := <-watcher.ResultChan():
			require.True(t, ok, "the watch of the copies ended")
			secret, isSecret := event.Object.(*corev1.Secret)
			if event.Type == watch.Modified && isSecret && isSameData(secret, tok) {
				return
			}
		case <-deadline:
			require.FailNow(t, "the leader never updated a copy")
		}
	}
}

// countInStep counts the copies of the token that hold its data.
func (c *faultCluster) countInStep(t *testing.T, tokenName string, tok *corev1.Secret) int {
	t.Helper()
	list, err := c.cs.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{
		LabelSelector: contract.Token + "=" + tokenName,
	})
	require.NoError(t, err)
	n := 0
	for i := range list.Items {
		if isSameData(&list.Items[i], tok) {
			n++
		}
	}
	return n
}

// leaseHolder returns the identity holding the controllers' lease.
func leaseHolder(t *testing.T, c *faultCluster) string {
	t.Helper()
	var lease *coordinationv1.Lease
	require.Eventually(t, func() bool {
		var err error
		lease, err = c.cs.CoordinationV1().Leases(storeNamespace).Get(context.Background(),
			"kuberos-registry-controllers", metav1.GetOptions{})
		return err == nil && lease.Spec.HolderIdentity != nil
	}, eventually, 20*time.Millisecond, "no lease")
	return *lease.Spec.HolderIdentity
}

func TestFaultAPIServerRestarted(t *testing.T) {
	const (
		oldPassword = "restart-s3cret-1"
		newPassword = "restart-s3cret-2"
		tokenName   = "restart-token"
	)
	ctx := context.Background()
	c := newFaultCluster(t)
	tok := c.storeToken(t, tokenName, "registry.faults.example:5050", oldPassword)
	// With leader election on, as the chart runs it: the leader must ride out the outage.
	hook := c.startWebhook(t, "--leader-elect")
	hook.waitReady(t)
	c.registerWebhook(t, hook.port, tok)
	namespaces := c.optedInNamespaces(t, "restart", 2)
	before, after := namespaces[0], namespaces[1]
	created, err := c.cs.CoreV1().Pods(before).Create(ctx, registryPod("before", tokenName),
		metav1.CreateOptions{})
	require.NoError(t, err)
	require.Empty(t, mutationProblem(created, tokenName))

	t.Run("the webhook and its controllers recover from an API server restart without "+
		"a restart of their own", func(t *testing.T) {
		apiServer := c.env.ControlPlane.APIServer
		stoppedAt := time.Now()
		require.NoError(t, apiServer.Stop(), "%s", c.apiServerLogs)
		startingAt := time.Now()
		require.NoError(t, apiServer.Start())
		startedAt := time.Now()
		t.Logf("the API server stopped in %s and started in %s",
			startingAt.Sub(stoppedAt).Round(time.Millisecond),
			startedAt.Sub(startingAt).Round(time.Millisecond))

		attempts := 0
		var mutatedAt time.Time
		require.Eventually(t, func() bool {
			attempts++
			created, err := c.cs.CoreV1().Pods(after).Create(ctx,
				registryPod(fmt.Sprintf("after-%d", attempts), tokenName),
				metav1.CreateOptions{})
			if err != nil {
				return false
			}
			mutatedAt = time.Now()
			assert.Empty(t, mutationProblem(created, tokenName))
			return true
		}, eventually, 20*time.Millisecond, "no Pod was admitted after the restart; logs:\n%s",
			hook.logs)
		require.Empty(t, c.copyProblem(after, tok), "the Pod's copy was created")

		rotated := c.rotateToken(t, tok, newPassword)
		require.Eventually(t, func() bool {
			return c.copyProblem(before, rotated) == "" && c.copyProblem(after, rotated) == ""
		}, eventually, 20*time.Millisecond, "the rotation never reached the copies")

		annotated, err := c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: "annotated-",
				Annotations:  map[string]string{contract.Inject: contract.InjectEnabled},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			ns, err := c.cs.CoreV1().Namespaces().Get(ctx, annotated.Name, metav1.GetOptions{})
			return err == nil && ns.Labels[contract.Inject] == contract.InjectEnabled
		}, eventually, 20*time.Millisecond, "the namespace controller never set the label")

		require.True(t, hook.isRunning(), "the binary exited; logs:\n%s", hook.logs)
		requireNoTokenInLogs(t, []string{oldPassword, newPassword}, hook)

		reportFigure(t, "API server restarted: API server down", milliseconds(
			startedAt.Sub(stoppedAt)), "ms")
		reportFigure(t, "API server restarted: time from its start to the first mutation",
			milliseconds(mutatedAt.Sub(startedAt)), "ms")
	})
}
