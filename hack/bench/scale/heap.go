package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// cacheVariant is one way to cache the objects the webhook binary caches: Namespaces, and
// the Secrets labelled as the system's own.
type cacheVariant struct {
	name string
	// namespaces is what the Namespace informer holds: nil for none, a *corev1.Namespace
	// for full objects, a *metav1.PartialObjectMetadata for metadata only.
	namespaces client.Object
	secrets    bool
	strip      bool
}

// cacheVariants break the binary's cache down and try the fixes: managedFields stripped,
// and Namespaces cached as metadata only.
var cacheVariants = []cacheVariant{
	{name: "Namespaces (full objects, as the binary)", namespaces: &corev1.Namespace{}},
	{name: "owned Secrets (full objects, as the binary)", secrets: true},
	{name: "Namespaces, managedFields stripped", namespaces: &corev1.Namespace{}, strip: true},
	{name: "Namespaces as metadata only, managedFields stripped",
		namespaces: namespaceMetadata(), strip: true},
	{name: "owned Secrets, managedFields stripped", secrets: true, strip: true},
}

func namespaceMetadata() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{
		APIVersion: "v1", Kind: "Namespace",
	}}
}

// cacheHeaps measures, in this process, the live heap each variant's synced cache holds,
// in MiB: the heap after a GC with the cache, less the heap after a GC before it. The webhook
// binary builds its cache with the same controller-runtime options, so this tells what
// dominates its memory without instrumenting it.
func cacheHeaps(ctx context.Context, cfg *rest.Config) (string, error) {
	var parts []string
	for _, v := range cacheVariants {
		mib, err := cacheHeap(ctx, cfg, v)
		if err != nil {
			return "", fmt.Errorf("cache of %s: %w", v.name, err)
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", v.name, mib))
	}
	return strings.Join(parts, "; "), nil
}

func cacheHeap(ctx context.Context, cfg *rest.Config, v cacheVariant) (float64, error) {
	opts := cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(map[string]string{
			contract.ManagedBy: contract.ManagedByValue,
		})},
	}}
	if v.strip {
		opts.DefaultTransform = cache.TransformStripManagedFields()
	}
	before := liveHeap()

	c, err := cache.New(rest.CopyConfig(cfg), opts)
	if err != nil {
		return 0, err
	}
	cacheCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- c.Start(cacheCtx) }()
	var objects []client.Object
	if v.namespaces != nil {
		objects = append(objects, v.namespaces)
	}
	if v.secrets {
		objects = append(objects, &corev1.Secret{})
	}
	syncCtx, cancelSync := context.WithTimeout(cacheCtx, 2*time.Minute)
	defer cancelSync()
	for _, obj := range objects {
		if _, err := c.GetInformer(syncCtx, obj); err != nil {
			return 0, err
		}
	}
	if !c.WaitForCacheSync(syncCtx) {
		return 0, fmt.Errorf("the cache did not sync")
	}

	after := liveHeap()
	runtime.KeepAlive(c)
	cancel()
	if err := <-started; err != nil {
		return 0, err
	}
	return (float64(after) - float64(before)) / (1 << 20), nil
}

// liveHeap is the heap in use after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.HeapAlloc
}
