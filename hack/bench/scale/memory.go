package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Shape of memory-10k.
const (
	memoryNamespaces = 10000
	memoryTargetMiB  = 64
	// The resident set is settled when it moved by at most settleMiB over settleWindow.
	settleMiB      = 0.25
	settleWindow   = 5 * time.Second
	settleInterval = 500 * time.Millisecond
	settleDeadline = 90 * time.Second
)

// measureMemory fills the cluster with 10,000 opted-in namespaces holding a copy each, once,
// then per run starts a fresh webhook binary, waits until it is ready and its caches have
// synced (a Pod in the last namespace of the pool is mutated: the handler reads that
// namespace and Secret from its caches, which answer only once synced), and reads its
// resident set size until it settles.
func measureMemory(ctx context.Context, b *bench, runs int) ([]*result, error) {
	// The baseline: a fresh binary in the cluster as it is before the fill.
	baseline, err := b.freshBinaryMemory(ctx, "memory-baseline", "bench-probe")
	if err != nil {
		return nil, err
	}

	began := time.Now()
	if _, err := b.fillCopies(ctx, memoryNamespaces, poolToken); err != nil {
		return nil, err
	}
	filled := time.Since(began)
	namespaces, owned, err := b.countObjects(ctx)
	if err != nil {
		return nil, err
	}

	res := &result{
		Measure: "memory-10k",
		Title:   "Webhook RSS with 10,000 namespaces and 10,000 copies",
		Unit:    "MiB",
		Target:  fmt.Sprintf("RSS <= %d MiB", memoryTargetMiB),
	}
	var notes, limited []string
	for run := range runs {
		m, err := b.freshBinaryMemory(ctx, fmt.Sprintf("memory-%d", run), poolName(b.pool-1))
		if err != nil {
			return nil, err
		}
		res.Ours = append(res.Ours, round(m.settled, 1))
		notes = append(notes, fmt.Sprintf("run %d: %s", run+1, m))
		// The same binary with a soft memory limit for the Go runtime, as a chart could set
		// from the container's limit: is the figure heap headroom or live memory?
		m, err = b.freshBinaryMemory(ctx, fmt.Sprintf("memory-limited-%d", run),
			poolName(b.pool-1), "GOMEMLIMIT="+memoryLimit)
		if err != nil {
			return nil, err
		}
		limited = append(limited, fmt.Sprintf("run %d: %s", run+1, m))
	}
	res.Pass = slices.Max(res.Ours) <= memoryTargetMiB
	// The measures that follow get the binary as users run it, without the limit.
	if err := b.restartWebhook(ctx); err != nil {
		return nil, err
	}
	heaps, err := cacheHeaps(ctx, b.cfg)
	if err != nil {
		return nil, err
	}
	res.Notes = fmt.Sprintf("%d namespaces and %d Secrets owned by the system (tokens and "+
		"copies) in the cluster; filled once in %.0f s. A fresh binary per run; the figure is "+
		"VmRSS from /proc once it moved by at most %.2f MiB over %s. %s. Before the fill, a "+
		"fresh binary: %s. With GOMEMLIMIT=%s in its environment: %s. Live heap of a "+
		"synced controller-runtime cache with the binary's options, measured in this "+
		"program after GC: %s.", namespaces, owned, filled.Seconds(), settleMiB,
		settleWindow, strings.Join(notes, "; "), baseline, memoryLimit,
		strings.Join(limited, "; "), heaps)
	return []*result{res}, nil
}

// memoryLimit is the soft limit of the diagnostic run, below the target to leave room for
// what the Go runtime does not count (the binary's mapped code).
const memoryLimit = "48MiB"

// binaryMemory is what one fresh binary used.
type binaryMemory struct {
	ready, synced         time.Duration
	atSync, settled, peak float64
}

func (m binaryMemory) String() string {
	return fmt.Sprintf("ready after %.1f s, caches synced after %.1f s, RSS %.1f MiB at "+
		"sync, %.1f MiB settled, peak (VmHWM) %.1f MiB", m.ready.Seconds(), m.synced.Seconds(),
		m.atSync, m.settled, m.peak)
}

// freshBinaryMemory starts a fresh webhook binary with the environment given, waits until it
// mutates a Pod in the namespace, and reads its resident set until it settles.
func (b *bench) freshBinaryMemory(
	ctx context.Context,
	podName, namespace string,
	env ...string,
) (binaryMemory, error) {
	var m binaryMemory
	started := time.Now()
	if err := b.restartWebhook(ctx, env...); err != nil {
		return m, err
	}
	m.ready = time.Since(started)
	if err := b.waitMutated(ctx, namespace, podName); err != nil {
		return m, err
	}
	m.synced = time.Since(started)
	var err error
	if m.atSync, _, err = b.hook.memory(); err != nil {
		return m, err
	}
	m.settled, m.peak, err = b.settledMemory(ctx)
	return m, err
}

// waitMutated creates a Pod in the opted-in namespace until the webhook admits it with its
// pull secret: a call made before the caches synced may time out and be retried.
func (b *bench) waitMutated(ctx context.Context, namespace, name string) error {
	pod, err := kuberosPod(0, namespace)
	if err != nil {
		return err
	}
	pod.Name = name
	var last error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			created, err := b.kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod,
				metav1.CreateOptions{})
			if err != nil {
				last = err
				return false, nil
			}
			if !isMutated(created) {
				return false, fmt.Errorf("pod %s/%s was admitted without its pull secret",
					pod.Namespace, pod.Name)
			}
			return true, nil
		})
	if err != nil {
		return fmt.Errorf("the fresh webhook never mutated a Pod: %w (last: %w); logs:\n%s",
			err, last, b.hook.tail())
	}
	return nil
}

// settledMemory polls the resident set until it moved by at most settleMiB over
// settleWindow, and returns it with the peak.
func (b *bench) settledMemory(ctx context.Context) (float64, float64, error) {
	var window []float64
	size := int(settleWindow/settleInterval) + 1
	var rss, peak float64
	err := wait.PollUntilContextTimeout(ctx, settleInterval, settleDeadline, true,
		func(context.Context) (bool, error) {
			var err error
			rss, peak, err = b.hook.memory()
			if err != nil {
				return false, err
			}
			window = append(window, rss)
			if len(window) > size {
				window = window[1:]
			}
			return len(window) == size && slices.Max(window)-slices.Min(window) <= settleMiB,
				nil
		})
	if err != nil && !wait.Interrupted(err) {
		return 0, 0, err
	}
	// A resident set that never settles within the deadline is reported as last read.
	return rss, peak, nil
}
