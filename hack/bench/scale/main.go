// Command scale measures kuberos-registry against a real control plane: a kube-apiserver and
// etcd started by controller-runtime's envtest, and the webhook binary built from
// cmd/kuberos-registry-webhook, serving TLS behind a MutatingWebhookConfiguration. It writes
// one JSON file per measure into $BENCH_OUT (default bench/raw under the repository root) and
// prints one summary line per measure. It is a load tool, not a test: nothing here asserts.
//
//	cd hack/bench && go run ./scale [-runs N] [-only measure[,measure]]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

// measure is one figure of the report: it runs the given number of times against the
// running system and returns its results, the first named after the measure.
type measure struct {
	id  string
	run func(ctx context.Context, b *bench, runs int) ([]*result, error)
}

// measures run in this order: the 10,000 namespaces of memory-10k are created once, and
// rotation-1000 reuses the first 1,000 of them.
var measures = []measure{
	{id: "pod-throughput", run: measurePodThroughput},
	{id: "burst-50ns", run: measureBurst},
	{id: "memory-10k", run: measureMemory},
	{id: "rotation-1000", run: measureRotation},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run() error {
	runs := flag.Int("runs", 3, "runs of each measure; the floor is measured in every run")
	only := flag.String("only", "", "comma-separated measures to run (default: all): "+
		strings.Join(measureIDs(), ", "))
	noopPort := flag.Int("noop-port", 0, "internal: serve the no-op webhook on this port")
	noopCertDir := flag.String("noop-cert-dir", "", "internal: the no-op webhook's certificate")
	flag.Parse()
	// envtest, the clients and the no-op webhook log through controller-runtime; their
	// output is not wanted.
	logf.SetLogger(logr.Discard())
	if *noopPort > 0 {
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		return serveNoop(ctx, *noopPort, *noopCertDir)
	}
	if *runs < 1 {
		return fmt.Errorf("invalid -runs %d: at least 1", *runs)
	}
	selected, err := selectMeasures(*only)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	root, err := raw.RepoRoot()
	if err != nil {
		return err
	}
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		out = root + "/bench/raw"
	}
	if err := os.MkdirAll(out, 0o750); err != nil { //nolint:gosec // BENCH_OUT is chosen on purpose
		return fmt.Errorf("failed to create %s: %w", out, err)
	}

	started := time.Now()
	b, err := startBench(ctx, root)
	if err != nil {
		return err
	}
	defer b.stop()
	fmt.Printf("control plane and webhook ready in %s\n", time.Since(started).Round(time.Second))

	var failed []string
	for _, m := range selected {
		began := time.Now()
		results, err := m.run(ctx, b, *runs)
		if err != nil {
			return fmt.Errorf("%s: %w", m.id, err)
		}
		for _, res := range results {
			if err := res.Write(out); err != nil {
				return err
			}
			fmt.Println(summary(res))
			if !res.Pass {
				failed = append(failed, res.Measure)
			}
		}
		fmt.Printf("  %s took %s\n", m.id, time.Since(began).Round(time.Second))
	}
	fmt.Printf("done in %s; results in %s\n", time.Since(started).Round(time.Second), out)
	if len(failed) > 0 {
		fmt.Printf("targets missed: %s\n", strings.Join(failed, ", "))
	}
	return nil
}

func measureIDs() []string {
	ids := make([]string, 0, len(measures))
	for _, m := range measures {
		ids = append(ids, m.id)
	}
	return ids
}

// selectMeasures returns the measures named in only, in their fixed order.
func selectMeasures(only string) ([]measure, error) {
	if only == "" {
		return measures, nil
	}
	names := strings.Split(only, ",")
	for _, name := range names {
		if !slices.Contains(measureIDs(), strings.TrimSpace(name)) {
			return nil, fmt.Errorf("unknown measure %q: use %s", name,
				strings.Join(measureIDs(), ", "))
		}
	}
	var selected []measure
	for _, m := range measures {
		if slices.ContainsFunc(names, func(n string) bool { return strings.TrimSpace(n) == m.id }) {
			selected = append(selected, m)
		}
	}
	return selected, nil
}
