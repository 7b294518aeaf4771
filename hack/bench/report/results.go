package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

// result is one measure in the raw results format every bench program writes.
type result = raw.Result

const (
	// handlerBenchFile is the `go test -bench -benchmem` output run.sh saves.
	handlerBenchFile = "handler-bench.txt"
	// loadMeasure is the load generator's measure that holds the percentiles for the chart.
	loadMeasure = "load-p99"
)

// measureOrder puts the measures first, in its order; others follow by name.
var measureOrder = []string{"handler-ns", "handler-allocs", "load-p99", "load-errors",
	"load-rate"}

// readResults reads every *.json of the directory; a missing directory holds none.
func readResults(dir string) ([]result, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("failed to list %s: %w", dir, err)
	}
	var results []result
	for _, path := range paths {
		data, err := os.ReadFile(path) // #nosec G304 -- our flag or results
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", path, err)
		}
		var r result
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("failed to decode %s: %w", path, err)
		}
		if r.Measure == "" || len(r.Ours) == 0 {
			return nil, fmt.Errorf("%s is not a result: it needs a measure and ours", path)
		}
		results = append(results, r)
	}
	return results, nil
}

func sortResults(results []result) {
	rank := func(r result) int {
		if i := slices.Index(measureOrder, r.Measure); i >= 0 {
			return i
		}
		return len(measureOrder)
	}
	sort.SliceStable(results, func(i, j int) bool {
		ri, rj := rank(results[i]), rank(results[j])
		if ri != rj {
			return ri < rj
		}
		return results[i].Measure < results[j].Measure
	})
}

func findMeasure(results []result, measure string) *result {
	for i := range results {
		if results[i].Measure == measure {
			return &results[i]
		}
	}
	return nil
}

// benchLine matches a line of `go test -bench -benchmem` output: the name without its
// GOMAXPROCS suffix, then value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// benchRuns are the ns/op and allocs/op of every run of one benchmark.
type benchRuns struct {
	ns, allocs []float64
}

// readHandlerBench parses the handler benchmarks into the ns/op and allocs/op measures, ours
// against the floor. A missing file yields no measures.
func readHandlerBench(path string) ([]result, error) {
	f, err := os.Open(path) // #nosec G304 -- our flag or results
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read only

	runs := map[string]*benchRuns{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		m := benchLine.FindStringSubmatch(scanner.Text())
		if m == nil {
			continue
		}
		name := m[1]
		if runs[name] == nil {
			runs[name] = &benchRuns{}
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			value, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("failed to parse %q in %s: %w", fields[i], path, err)
			}
			switch fields[i+1] {
			case "ns/op":
				runs[name].ns = append(runs[name].ns, value)
			case "allocs/op":
				runs[name].allocs = append(runs[name].allocs, value)
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}

	ours, floor := runs["BenchmarkHandleKubeROSPod"], runs["BenchmarkDecodeEncodeFloor"]
	if ours == nil || floor == nil {
		return nil, fmt.Errorf("%s lacks BenchmarkHandleKubeROSPod or "+
			"BenchmarkDecodeEncodeFloor", path)
	}
	const (
		title     = "the handler on a 3-container KubeROS Pod, in process (go test -bench)"
		floorName = "decode the same AdmissionReview and its Pod, encode a response, no logic"
		setup     = "webhook/bench_test.go: the review decoded, the handler run over a fake " +
			"client in steady state (namespace opted in, tokens in the store, copies " +
			"present), the patch completed and the review encoded"
	)
	ns := result{
		Measure:   "handler-ns",
		Title:     title + ": time",
		Unit:      "ns/op",
		Target:    "at most 1.5 times the floor",
		Ours:      ours.ns,
		Floor:     floor.ns,
		FloorName: floorName,
		Notes:     setup,
	}
	ns.Pass = raw.Median(ns.Ours) <= 1.5*raw.Median(ns.Floor)
	allocs := result{
		Measure:   "handler-allocs",
		Title:     title + ": allocations",
		Unit:      "allocs/op",
		Target:    "at most 100 allocations",
		Ours:      ours.allocs,
		Floor:     floor.allocs,
		FloorName: floorName,
		Notes:     "the same benchmark, with -benchmem",
	}
	allocs.Pass = raw.Median(allocs.Ours) <= 100
	out := []result{ns, allocs}
	if cached := runs["BenchmarkHandleKubeROSPodCachedReads"]; cached != nil {
		const cachedNote = "the same, with reads served as the deployed informer cache " +
			"serves them (shared objects, UnsafeDisableDeepCopy) instead of the fake " +
			"client's JSON round trip"
		c := ns
		c.Measure, c.Title, c.Ours, c.Notes = "handler-ns-cached",
			title+", cache-like reads: time", cached.ns, cachedNote
		c.Pass = raw.Median(c.Ours) <= 1.5*raw.Median(c.Floor)
		a := allocs
		a.Measure, a.Title, a.Ours, a.Notes = "handler-allocs-cached",
			title+", cache-like reads: allocations", cached.allocs, cachedNote
		a.Pass = raw.Median(a.Ours) <= 100
		out = append(out, c, a)
	}
	return out, nil
}
