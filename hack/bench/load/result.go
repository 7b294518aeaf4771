package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

// result is one measure in the raw results format that every bench program writes and the
// report reads (hack/bench/report).
type result struct {
	raw.Result
	// Runs keeps every percentile of every run, beyond the shared format.
	Runs []runPercentiles `json:"runs,omitempty"`
}

// runPercentiles are the percentiles of one run of both servers, in milliseconds.
type runPercentiles struct {
	Ours  map[string]float64 `json:"ours"`
	Floor map[string]float64 `json:"floor"`
}

const floorName = "no-op controller-runtime webhook, same server, TLS and client"

// quantiles are the percentiles reported, by their key in the raw results.
var quantiles = []struct {
	key string
	q   float64
}{{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}}

// writeResults writes the p99 measure with every percentile, the errors and the achieved
// rate.
func writeResults(cfg config, m measurement) error {
	if err := os.MkdirAll(cfg.out, 0o750); err != nil {
		return fmt.Errorf("failed to create %s: %w", cfg.out, err)
	}
	setup := fmt.Sprintf("%d runs of %s each at %d requests/s open-loop, alternating ours "+
		"and the floor, over keep-alive HTTP/1.1 with TLS on 127.0.0.1; latency counted from "+
		"when each request was due. Our handler reads a fake client (a JSON round trip per "+
		"read), not the informer cache of a real deployment.", cfg.runs, cfg.duration, cfg.rate)

	p99 := result{Result: raw.Result{
		Measure:     "load-p99",
		Title:       fmt.Sprintf("HTTPS load at %d requests/s: p99 latency", cfg.rate),
		Unit:        "ms",
		Target:      "p99 at most 1.3 times that of a no-op controller-runtime webhook; 0 errors",
		FloorName:   floorName,
		Notes:       setup,
		Percentiles: map[string]map[string]float64{"ours": {}, "floor": {}},
	}}
	for i := range m.ours {
		o, f := percentiles(m.ours[i]), percentiles(m.floor[i])
		p99.Runs = append(p99.Runs, runPercentiles{Ours: o, Floor: f})
		p99.Ours = append(p99.Ours, o["p99"])
		p99.Floor = append(p99.Floor, f["p99"])
	}
	for _, q := range quantiles {
		var ours, floor []float64
		for _, run := range p99.Runs {
			ours = append(ours, run.Ours[q.key])
			floor = append(floor, run.Floor[q.key])
		}
		p99.Percentiles["ours"][q.key] = raw.Median(ours)
		p99.Percentiles["floor"][q.key] = raw.Median(floor)
	}

	errs := raw.Result{
		Measure:   "load-errors",
		Title:     fmt.Sprintf("HTTPS load at %d requests/s: failed requests per run", cfg.rate),
		Unit:      "count",
		Target:    "0 errors",
		FloorName: floorName,
		Notes: "a failure is a transport error, a status other than 200, or an answer " +
			"that is not an allow (with a patch, for ours) of the request",
	}
	rate := raw.Result{
		Measure:   "load-rate",
		Title:     "HTTPS load: achieved request rate",
		Unit:      "req/s",
		Target:    fmt.Sprintf("%d requests/s sent (the generator kept up)", cfg.rate),
		FloorName: floorName,
		Pass:      true,
		Notes:     "requests sent over the time sending took",
	}
	var firstErrors []string
	for i := range m.ours {
		errs.Ours = append(errs.Ours, float64(m.ours[i].errors))
		errs.Floor = append(errs.Floor, float64(m.floor[i].errors))
		rate.Ours = append(rate.Ours, m.ours[i].rate)
		rate.Floor = append(rate.Floor, m.floor[i].rate)
		for _, r := range []runResult{m.ours[i], m.floor[i]} {
			if r.firstError != "" {
				firstErrors = append(firstErrors, r.firstError)
			}
		}
		if m.ours[i].rate < 0.95*float64(cfg.rate) || m.floor[i].rate < 0.95*float64(cfg.rate) {
			rate.Pass = false
		}
	}
	errs.Pass = slices.Max(errs.Ours) == 0
	if len(firstErrors) > 0 {
		errs.Notes += "; first errors: " + strings.Join(firstErrors, "; ")
	}
	p99.Pass = errs.Pass && raw.Median(p99.Ours) <= 1.3*raw.Median(p99.Floor)

	if err := raw.WriteJSON(cfg.out, p99.Measure, p99); err != nil {
		return err
	}
	for _, r := range []*raw.Result{&errs, &rate} {
		if err := r.Write(cfg.out); err != nil {
			return err
		}
	}
	fmt.Printf("load: p99 ours %.3f ms, floor %.3f ms (medians of %d runs); results in %s\n",
		raw.Median(p99.Ours), raw.Median(p99.Floor), cfg.runs, cfg.out)
	return nil
}

func percentiles(r runResult) map[string]float64 {
	out := make(map[string]float64, len(quantiles))
	for _, q := range quantiles {
		out[q.key] = float64(percentile(r.latencies, q.q)) / float64(time.Millisecond)
	}
	return out
}
