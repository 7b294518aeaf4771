package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kuberos-io/kuberos-registry/hack/bench/internal/raw"
)

// machine is what the numbers were measured on.
type machine struct {
	cpu, memory, goVersion, kernel string
	cores                          int
}

// describeMachine reads /proc; a value it cannot read is "unknown".
func describeMachine() machine {
	m := machine{cpu: "unknown", memory: "unknown", kernel: "unknown",
		goVersion: runtime.Version(), cores: runtime.NumCPU()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			key, value, ok := strings.Cut(line, ":")
			if ok && strings.TrimSpace(key) == "model name" {
				m.cpu = strings.TrimSpace(value)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kib, err := strconv.ParseFloat(fields[1], 64); err == nil {
					m.memory = fmt.Sprintf("%.1f GiB", kib/(1<<20))
				}
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(data))
	}
	return m
}

// document is BENCHMARKS.md.
type document struct {
	machine   machine
	date      time.Time
	rawDir    string
	results   []result
	chartLink string
	analysis  string
}

func (d document) render() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Benchmarks\n\n")
	w("Written by `make bench` (hack/bench/run.sh); do not edit by hand. Every figure is the ")
	w("median over the runs, with the spread (min to max) in brackets; each floor is ")
	w("measured in the same run as ours. The raw numbers are in [%s](%s).\n\n",
		d.rawDir, d.rawDir)

	w("## Machine\n\n")
	w("| | |\n|---|---|\n")
	w("| date | %s |\n", d.date.Format("2006-01-02 15:04 MST"))
	w("| CPU | %s |\n", d.machine.cpu)
	w("| cores | %d |\n", d.machine.cores)
	w("| memory | %s |\n", d.machine.memory)
	w("| Go | %s |\n", d.machine.goVersion)
	w("| kernel | %s |\n\n", d.machine.kernel)

	w("## Summary\n\n")
	w("| measure | target | ours | floor | ours / floor | met |\n")
	w("|---|---|---|---|---|---|\n")
	for _, r := range d.results {
		w("| %s | %s | %s | %s | %s | %s |\n", cell(r.Title), cell(r.Target),
			spread(r.Ours, r.Unit), spread(r.Floor, r.Unit), ratio(r), verdict(r.Pass))
	}
	w("\n")

	if d.chartLink != "" {
		w("## Latency under load\n\n")
		w("![latency percentiles of ours and the no-op webhook](%s)\n\n", d.chartLink)
		if load := findMeasure(d.results, loadMeasure); load != nil {
			w("%s", percentileTable(load))
		}
	}

	w("## Measures\n\n")
	for _, r := range d.results {
		w("### %s\n\n", r.Title)
		w("- measure: `%s`, unit %s, %d runs\n", r.Measure, r.Unit, len(r.Ours))
		w("- target: %s; met: %s\n", r.Target, verdict(r.Pass))
		w("- ours: %s\n", spread(r.Ours, r.Unit))
		if len(r.Floor) > 0 {
			w("- floor (%s): %s; ours / floor %s\n", r.FloorName, spread(r.Floor, r.Unit),
				ratio(r))
		}
		w("- runs: ours %s", values(r.Ours))
		if len(r.Floor) > 0 {
			w("; floor %s", values(r.Floor))
		}
		w("\n")
		if r.Notes != "" {
			w("- notes: %s\n", r.Notes)
		}
		w("\n")
	}

	var missed []string
	for _, r := range d.results {
		if !r.Pass {
			missed = append(missed, fmt.Sprintf("`%s`", r.Measure))
		}
	}
	if len(missed) > 0 {
		w("## Targets missed\n\n%s: see the notes of each measure", strings.Join(missed, ", "))
		if d.analysis != "" {
			w(" and the analysis below")
		}
		w(".\n\n")
	}
	if d.analysis != "" {
		w("## Analysis\n\n%s\n", strings.TrimSpace(d.analysis))
	}
	return b.String()
}

// percentileTable lists the median percentiles of ours and the floor.
func percentileTable(r *result) string {
	var b strings.Builder
	b.WriteString("| percentile (median over runs) | ours | floor | ours / floor |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, q := range chartQuantiles {
		ours, floor := r.Percentiles["ours"][q.key], r.Percentiles["floor"][q.key]
		fmt.Fprintf(&b, "| %s | %s ms | %s ms | %s |\n", q.label, number(ours), number(floor),
			times(ours, floor))
	}
	b.WriteString("\n")
	return b.String()
}

// spread writes the median and, over several runs, the min and max.
func spread(values []float64, unit string) string {
	if len(values) == 0 {
		return "-"
	}
	text := number(raw.Median(values)) + " " + unit
	if len(values) > 1 {
		text += fmt.Sprintf(" (%s to %s)", number(slices.Min(values)), number(slices.Max(values)))
	}
	return text
}

func ratio(r result) string {
	if len(r.Floor) == 0 {
		return "-"
	}
	return times(raw.Median(r.Ours), raw.Median(r.Floor))
}

func times(ours, floor float64) string {
	if floor == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", ours/floor)
}

func values(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = number(v)
	}
	return strings.Join(parts, ", ")
}

// number writes a value with three significant digits, whole numbers above 1000.
func number(v float64) string {
	switch {
	case v == math.Trunc(v) || math.Abs(v) >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func verdict(pass bool) string {
	if pass {
		return "yes"
	}
	return "**no**"
}

// cell keeps text from breaking a table row.
func cell(text string) string {
	return strings.ReplaceAll(strings.ReplaceAll(text, "|", "\\|"), "\n", " ")
}
