// Command load drives the Pod webhook over HTTPS at a fixed request rate and compares its
// latency with a no-op webhook served the same way, in the same process and the same run.
//
// Both servers are controller-runtime webhook servers with the same self-signed certificate;
// ours runs the real handler over a fake cluster in steady state (namespace opted in, tokens
// in the store, copies already present), the floor answers every request with an allow. The
// runs alternate ours and the floor, so that noise on the machine reaches both. Each measure
// is written as one JSON file into the raw results directory, which the report reads.
//
// It is a load tool, not a test: `make bench` runs it through hack/bench/run.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each run sends")
	flag.IntVar(&cfg.runs, "runs", 5, "runs of each server, alternating ours and the floor")
	flag.IntVar(&cfg.rate, "rate", 1000, "requests per second, sent open-loop")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second,
		"an unrecorded run of each server before the first, to open connections")
	flag.StringVar(&cfg.out, "out", os.Getenv("BENCH_OUT"),
		"raw results directory (default $BENCH_OUT, else bench/raw under the repo root)")
	flag.Parse()
	if cfg.rate <= 0 || cfg.runs <= 0 || cfg.duration <= 0 {
		return fmt.Errorf("invalid flags: -rate, -runs and -duration must be positive")
	}
	if cfg.out == "" {
		root, err := raw.RepoRoot()
		if err != nil {
			return err
		}
		cfg.out = root + "/bench/raw"
	}

	// The handler logs through controller-runtime's logger: discard it for both servers.
	logf.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	results, err := measure(ctx, cfg)
	if err != nil {
		return err
	}
	return writeResults(cfg, results)
}

// config holds the flags.
type config struct {
	duration time.Duration
	warmup   time.Duration
	runs     int
	rate     int
	out      string
}
