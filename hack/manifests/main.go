// Command manifests renders the chart with its defaults into manifests/kuberos-registry.yaml
// and writes the chart's values table into the README, so both stay in step with the chart.
// `make manifests` runs it; tests in pkg/chart fail when either is stale.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kuberos-io/kuberos-registry/pkg/chart"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manifests:", err)
		os.Exit(1)
	}
}

func run() error {
	root := filepath.Join(chart.Dir(), "..", "..")

	manifest, err := chart.InstallManifest()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "manifests", "kuberos-registry.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil { //nolint:gosec // a doc
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	fmt.Println("wrote", path)

	readme := filepath.Join(root, "README.md")
	data, err := os.ReadFile(readme) //nolint:gosec // the repository's README
	if err != nil {
		return fmt.Errorf("failed to read the README: %w", err)
	}
	updated, err := chart.WithValuesTable(string(data))
	if err != nil {
		return err
	}
	if err := os.WriteFile(readme, []byte(updated), 0o644); err != nil { //nolint:gosec // a doc
		return fmt.Errorf("failed to write the README: %w", err)
	}
	fmt.Println("wrote the values table into", readme)
	return nil
}
