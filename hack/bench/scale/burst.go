package main

import (
	"context"
	"fmt"
	"strings"
)

// Shape of burst-50ns.
const (
	burstNamespaces = 50
	burstPods       = 1000
	burstWorkers    = 50
)

// measureBurst creates 1,000 Pods at once in 50 new opted-in namespaces, none of which holds
// a copy yet, so about 50 Pods race to create each copy. It counts failures, Pods left
// without their pull secret and copies; the floor is the same burst in 50 namespaces that
// have not opted in, and gives the wall time of the API server alone.
func measureBurst(ctx context.Context, b *bench, runs int) ([]*result, error) {
	outcome := &result{
		Measure: "burst-50ns",
		Title:   "1,000 Pods in 50 new opted-in namespaces, created at once: failed Pods",
		Unit:    "count",
		Target:  "0 failures; exactly 50 copies",
		Pass:    true,
	}
	wall := &result{
		Measure:   "burst-50ns-wall",
		Title:     "1,000 Pods in 50 new opted-in namespaces, created at once: wall time",
		Unit:      "s",
		Target:    "reported; no target",
		FloorName: "the same burst in 50 namespaces that have not opted in (no webhook call)",
		Pass:      true,
	}
	var notes []string
	for run := range runs {
		with, err := b.createNamespaces(ctx, fmt.Sprintf("bench-burst-%d-with", run),
			burstNamespaces, true)
		if err != nil {
			return nil, err
		}
		without, err := b.createNamespaces(ctx, fmt.Sprintf("bench-burst-%d-without", run),
			burstNamespaces, false)
		if err != nil {
			return nil, err
		}

		order := []bool{true, false}
		if run%2 == 1 {
			order = []bool{false, true}
		}
		var ours podBatch
		for _, optedIn := range order {
			namespaces := without
			if optedIn {
				namespaces = with
			}
			batch, err := b.createPods(ctx, namespaces, 0, burstPods, burstWorkers)
			if err != nil {
				return nil, err
			}
			if optedIn {
				ours = batch
				wall.Ours = append(wall.Ours, round(batch.wall.Seconds(), 2))
			} else {
				if batch.failures > 0 {
					return nil, fmt.Errorf("%d Pods failed without the webhook, the first: %w",
						batch.failures, batch.firstErr)
				}
				wall.Floor = append(wall.Floor, round(batch.wall.Seconds(), 2))
			}
		}

		inRun := map[string]bool{}
		for _, ns := range with {
			inRun[ns] = true
		}
		copies, err := b.countCopies(ctx, podToken, inRun)
		if err != nil {
			return nil, err
		}
		outcome.Ours = append(outcome.Ours, float64(ours.failures))
		if ours.failures > 0 || ours.unmutated > 0 || copies != burstNamespaces {
			outcome.Pass = false
		}
		note := fmt.Sprintf("run %d: %d failed, %d admitted without the pull secret, "+
			"%d copies, %.2f s", run+1, ours.failures, ours.unmutated, copies,
			ours.wall.Seconds())
		if ours.firstErr != nil {
			note += fmt.Sprintf(" (first error: %v)", ours.firstErr)
		}
		notes = append(notes, note)
	}
	outcome.Notes = fmt.Sprintf("%d Pods from %d goroutines, Pod i in namespace i mod %d; "+
		"namespaces carry the inject annotation and label, so no controller lag. %s.",
		burstPods, burstWorkers, burstNamespaces, strings.Join(notes, "; "))
	wall.Notes = fmt.Sprintf("wall time of the %d creations of burst-50ns; the floor's "+
		"order alternates by run", burstPods)
	return []*result{outcome, wall}, nil
}
