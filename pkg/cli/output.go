package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"
)

// Output formats of the commands that list things.
const (
	outputTable = "table"
	outputWide  = "wide"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// addOutputFlag adds -o to a command that lists things.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", outputTable,
		"output format: table, wide, json or yaml")
}

// checkOutput validates the value of -o.
func checkOutput(output string) error {
	switch output {
	case outputTable, outputWide, outputJSON, outputYAML:
		return nil
	}
	return fmt.Errorf("invalid --output %q: use table, wide, json or yaml", output)
}

// printStructured prints v as JSON or YAML.
func printStructured(w io.Writer, output string, v any) error {
	switch output {
	case outputJSON:
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("failed to encode the output: %w", err)
		}
		_, err = fmt.Fprintln(w, string(data))
		return err
	case outputYAML:
		data, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("failed to encode the output: %w", err)
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("invalid --output %q: use table, wide, json or yaml", output)
}

// printTable prints a header and rows aligned in columns, as kubectl does.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if _, err := fmt.Fprintln(tw, strings.Join(header, "\t")); err != nil {
		return err
	}
	for _, row := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(row, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// age renders the time since t as kubectl does (5m, 3h, 2d).
func age(now, t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
