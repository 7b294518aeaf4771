// Command report turns the raw benchmark results into BENCHMARKS.md at the repo root and a
// chart of the load test's latency percentiles (bench/latency.png).
//
// It reads every JSON file of the raw results directory (one measure each, written by the
// load generator and the scale measurements) and the `go test -bench` output of the handler
// benchmarks (handler-bench.txt in the same directory). It measures nothing itself: run
// hack/bench/run.sh (`make bench`) to measure and report.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := raw.RepoRoot()
	if err != nil {
		return err
	}
	var raw, out, chart, notes string
	flag.StringVar(&raw, "raw", os.Getenv("BENCH_OUT"),
		"raw results directory (default $BENCH_OUT, else bench/raw under the repo root)")
	flag.StringVar(&out, "out", filepath.Join(root, "BENCHMARKS.md"), "the report to write")
	flag.StringVar(&chart, "chart", filepath.Join(root, "bench", "latency.png"),
		"the latency chart to write")
	flag.StringVar(&notes, "notes", filepath.Join(root, "hack", "bench", "NOTES.md"),
		"optional hand-written analysis appended to the report when the file exists")
	flag.Parse()
	if raw == "" {
		raw = filepath.Join(root, "bench", "raw")
	}

	results, err := readResults(raw)
	if err != nil {
		return err
	}
	handler, err := readHandlerBench(filepath.Join(raw, handlerBenchFile))
	if err != nil {
		return err
	}
	results = append(handler, results...)
	if len(results) == 0 {
		return fmt.Errorf("no results in %s: run hack/bench/run.sh first", raw)
	}
	sortResults(results)

	chartLink := ""
	if load := findMeasure(results, loadMeasure); load != nil && len(load.Percentiles) > 0 {
		if err := writeChart(chart, load); err != nil {
			return err
		}
		chartLink = relativeTo(filepath.Dir(out), chart)
	}
	analysis, err := os.ReadFile(notes) // #nosec G304 -- our flag or results
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("failed to read %s: %w", notes, err)
	}

	doc := document{
		machine:   describeMachine(),
		date:      time.Now().UTC(),
		rawDir:    relativeTo(filepath.Dir(out), raw),
		results:   results,
		chartLink: chartLink,
		analysis:  string(analysis),
	}
	if err := os.WriteFile(out, []byte(doc.render()), 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", out, err)
	}
	fmt.Printf("report: wrote %s\n", out)
	return nil
}

// relativeTo writes path relative to dir when it can, for links in the report.
func relativeTo(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}
