package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// result is the raw record of one measure, in the format the report generator reads.
type result struct {
	Measure   string    `json:"measure"`
	Title     string    `json:"title"`
	Unit      string    `json:"unit"`
	Target    string    `json:"target"`
	Ours      []float64 `json:"ours"`
	Floor     []float64 `json:"floor,omitempty"`
	FloorName string    `json:"floorName,omitempty"`
	Pass      bool      `json:"pass"`
	Notes     string    `json:"notes"`
}

// write stores the result as <dir>/<measure>.json.
func (r *result) write(dir string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode the result of %s: %w", r.Measure, err)
	}
	path := filepath.Join(dir, r.Measure+".json")
	//nolint:gosec // BENCH_OUT is chosen on purpose
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

// summary is the one line printed per measure.
func (r *result) summary() string {
	verdict := "PASS"
	if !r.Pass {
		verdict = "MISS"
	}
	line := fmt.Sprintf("%-15s %s  ours %s %s [%s]", r.Measure, verdict,
		format(median(r.Ours)), r.Unit, formatAll(r.Ours))
	if len(r.Floor) > 0 {
		line += fmt.Sprintf("  floor %s %s [%s]", format(median(r.Floor)), r.Unit,
			formatAll(r.Floor))
	}
	return line + "  target: " + r.Target
}

// median of the values; NaN for none.
func median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
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
