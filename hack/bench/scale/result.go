package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

// result is the raw record of one measure.
type result = raw.Result

// summary is the one line printed per measure.
func summary(r *result) string {
	verdict := "PASS"
	if !r.Pass {
		verdict = "MISS"
	}
	line := fmt.Sprintf("%-15s %s  ours %s %s [%s]", r.Measure, verdict,
		format(raw.Median(r.Ours)), r.Unit, formatAll(r.Ours))
	if len(r.Floor) > 0 {
		line += fmt.Sprintf("  floor %s %s [%s]", format(raw.Median(r.Floor)), r.Unit,
			formatAll(r.Floor))
	}
	return line + "  target: " + r.Target
}

func format(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func formatAll(values []float64) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = format(v)
	}
	return strings.Join(parts, " ")
}

// round keeps a figure readable in the raw file.
func round(v float64, digits int) float64 {
	scale := math.Pow(10, float64(digits))
	return math.Round(v*scale) / scale
}
