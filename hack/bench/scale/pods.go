package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
)

// benchManifest is a KubeROS deployment whose one module pulls from a private registry
// through the `default` entry of its containerRegistry list.
var benchManifest = &kuberos.Manifest{
	APIVersion: "v1alpha1",
	Kind:       kuberos.KindApplicationDeployment,
	Metadata:   kuberos.Metadata{Name: "bench"},
	ContainerRegistry: []registry.Entry{{
		Name:                contract.DefaultRegistryName,
		ImagePullSecretName: podToken,
		ImagePullPolicy:     corev1.PullAlways,
	}},
	RosModules: []kuberos.RosModule{{
		Name:  "talker",
		Image: registryHost + "/ros2-basic-examples:v2-param",
	}},
}

// kuberosPod builds the Pod KubeROS creates for the bench module on the i-th robot.
func kuberosPod(i int, namespace string) (*corev1.Pod, error) {
	return benchManifest.ModulePod(fmt.Sprintf("robot-%05d", i), benchManifest.RosModules[0],
		namespace)
}

// isMutated reports whether the webhook gave the Pod its pull secret.
func isMutated(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Spec.ImagePullSecrets,
		func(ref corev1.LocalObjectReference) bool { return ref.Name == podToken })
}

// podBatch is the outcome of creating a batch of Pods.
type podBatch struct {
	wall      time.Duration
	failures  int
	unmutated int
	firstErr  error
}

func (p podBatch) rate(count int) float64 { return float64(count) / p.wall.Seconds() }

// createPods creates count KubeROS-shaped Pods, the i-th in namespaces[i%len(namespaces)],
// from the given number of goroutines, and times the whole batch.
func (b *bench) createPods(
	ctx context.Context,
	namespaces []string,
	first, count, workers int,
) (podBatch, error) {
	pods := make([]*corev1.Pod, count)
	for i := range pods {
		pod, err := kuberosPod(first+i, namespaces[i%len(namespaces)])
		if err != nil {
			return podBatch{}, err
		}
		pods[i] = pod
	}
	var unmutated atomic.Int64
	started := time.Now()
	failures, err := parallel(ctx, count, workers, func(ctx context.Context, i int) error {
		created, err := b.kube.CoreV1().Pods(pods[i].Namespace).Create(ctx, pods[i],
			metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if !isMutated(created) {
			unmutated.Add(1)
		}
		return nil
	})
	return podBatch{
		wall:      time.Since(started),
		failures:  failures,
		unmutated: int(unmutated.Load()),
		firstErr:  err,
	}, ctx.Err()
}

// parallel calls do for 0..n-1 from the given number of goroutines, and returns how many
// calls failed and the first error.
func parallel(
	ctx context.Context,
	n, workers int,
	do func(ctx context.Context, i int) error,
) (int, error) {
	var (
		next     atomic.Int64
		failures atomic.Int64
		once     sync.Once
		first    error
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(ctx, i); err != nil {
					failures.Add(1)
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	return int(failures.Load()), first
}
