// Package raw is the raw results format that every bench program writes into BENCH_OUT (one
// JSON file per measure) and the report generator reads, with the helpers they share.
package raw

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Result is one measure: every run of ours and, where there is one, of the floor measured
// in the same run.
type Result struct {
	Measure     string                        `json:"measure"`
	Title       string                        `json:"title"`
	Unit        string                        `json:"unit"`
	Target      string                        `json:"target"`
	Ours        []float64                     `json:"ours"`
	Floor       []float64                     `json:"floor,omitempty"`
	FloorName   string                        `json:"floorName,omitempty"`
	Pass        bool                          `json:"pass"`
	Notes       string                        `json:"notes"`
	Percentiles map[string]map[string]float64 `json:"percentiles,omitempty"`
}

// Write stores the result as <dir>/<measure>.json.
func (r *Result) Write(dir string) error {
	return WriteJSON(dir, r.Measure, r)
}

// WriteJSON stores v, a Result or a struct with a Result's fields and more, as
// <dir>/<measure>.json.
func WriteJSON(dir, measure string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode the result of %s: %w", measure, err)
	}
	path := filepath.Join(dir, measure+".json")
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

// Median returns the median of the values, 0 for none.
func Median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(values))
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// RepoRoot walks up from the working directory to the main module's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("failed to find the repo root: run inside the repo")
		}
		dir = parent
	}
}

func isMainModule(goMod string) bool {
	f, err := os.Open(goMod) // #nosec G304 -- a go.mod above the working directory
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }() // read only
	scanner := bufio.NewScanner(f)
	return scanner.Scan() &&
		strings.TrimSpace(scanner.Text()) == "module github.com/kuberos-io/kuberos-registry"
}
