package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

// Shape of pod-throughput.
const (
	throughputPods    = 500
	throughputWorkers = 20
)

// A series of pod-throughput: where its Pods are created.
const (
	seriesOurs  = "ours"
	seriesNoop  = "noop"
	seriesFloor = "floor"
)

// measurePodThroughput creates the same KubeROS-shaped Pods in an opted-in namespace (through
// the webhook), in a namespace served by a no-op webhook, and in one that neither serves
// (the floor: the API server alone), rotating which goes first from run to run. Each
// namespace gets one Pod before the clock starts, so the opted-in one already holds its
// copy: this is the steady state of a namespace in use; the cold case is burst-50ns. The CPU
// time of every process is sampled around each batch, to tell where the time goes.
func measurePodThroughput(ctx context.Context, b *bench, runs int) ([]*result, error) {
	if b.noop == nil {
		if err := b.startNoop(ctx); err != nil {
			return nil, err
		}
	}
	res := &result{
		Measure:   "pod-throughput",
		Title:     "Pod creation through the real API server",
		Unit:      "req/s",
		Target:    "throughput with the webhook >= 0.9 x without",
		FloorName: "the same Pods in a namespace that has not opted in (no webhook call)",
	}
	var noop []float64
	var notes []string
	for run := range runs {
		namespaces := map[string]string{
			seriesOurs:  fmt.Sprintf("bench-tp-%d-ours", run),
			seriesNoop:  fmt.Sprintf("bench-tp-%d-noop", run),
			seriesFloor: fmt.Sprintf("bench-tp-%d-floor", run),
		}
		labels := map[string]map[string]string{
			seriesOurs: {contract.Inject: contract.InjectEnabled},
			seriesNoop: {noopLabel: "true"},
		}
		for series, ns := range namespaces {
			if err := b.createNamespaceWith(ctx, ns, labels[series]); err != nil {
				return nil, err
			}
			// The warm-up Pod; in the opted-in namespace it creates the copy.
			batch, err := b.createPods(ctx, []string{ns}, 0, 1, 1)
			if err != nil || batch.failures > 0 {
				return nil, fmt.Errorf("warm-up Pod in %s: %w", ns, firstOf(err, batch.firstErr))
			}
		}

		order := []string{seriesOurs, seriesNoop, seriesFloor}
		order = append(order[run%3:], order[:run%3]...)
		rates := map[string]float64{}
		var cpuNotes []string
		for _, series := range order {
			ns := namespaces[series]
			before := b.cpu()
			batch, err := b.createPods(ctx, []string{ns}, 1, throughputPods, throughputWorkers)
			if err != nil {
				return nil, err
			}
			after := b.cpu()
			if batch.failures > 0 {
				return nil, fmt.Errorf("%d of %d Pods in %s failed, the first: %w",
					batch.failures, throughputPods, ns, batch.firstErr)
			}
			if series == seriesOurs && batch.unmutated > 0 {
				return nil, fmt.Errorf("%d Pods in %s were not mutated", batch.unmutated, ns)
			}
			rates[series] = batch.rate(throughputPods)
			cpuNotes = append(cpuNotes, series+": "+after.perItem(before, throughputPods))
		}
		res.Ours = append(res.Ours, round(rates[seriesOurs], 1))
		res.Floor = append(res.Floor, round(rates[seriesFloor], 1))
		noop = append(noop, round(rates[seriesNoop], 1))
		notes = append(notes, fmt.Sprintf("run %d (order %s): ours/floor %.2f, noop/floor "+
			"%.2f, ours/noop %.2f; %s", run+1, strings.Join(order, ", "),
			rates[seriesOurs]/rates[seriesFloor], rates[seriesNoop]/rates[seriesFloor],
			rates[seriesOurs]/rates[seriesNoop], strings.Join(cpuNotes, "; ")))
	}
	ratio := raw.Median(res.Ours) / raw.Median(res.Floor)
	res.Pass = ratio >= 0.9
	res.Notes = fmt.Sprintf("%d Pods per series from %d goroutines; ratio of medians %.2f. "+
		"A second floor, a no-op controller-runtime webhook with the same TLS (a separate "+
		"process allowing every Pod unchanged), ran %s req/s [%s], %.2f of the floor: the "+
		"share of the gap any webhook call costs on this machine. Each Pod is KubeROS-shaped "+
		"(one container, the containerRegistry annotation, imagePullSecrets [{name: \"\"}]); "+
		"the webhook replaces the empty pull secret with the token's copy, already present. "+
		"%s.", throughputPods, throughputWorkers, ratio, format(raw.Median(noop)), formatAll(noop),
		raw.Median(noop)/raw.Median(res.Floor), strings.Join(notes, " | "))
	return []*result{res}, nil
}

func firstOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
