package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// chartQuantiles are the percentiles drawn, by their key in the raw results.
var chartQuantiles = []struct{ key, label string }{
	{"p50", "p50"}, {"p90", "p90"}, {"p99", "p99"}, {"p999", "p99.9"},
}

// writeChart draws the median latency percentiles of ours and the floor as grouped bars.
func writeChart(path string, load *result) error {
	p := plot.New()
	p.Title.Text = load.Title
	p.Y.Label.Text = "latency (ms), median over runs"
	p.Y.Min = 0

	width := vg.Points(18)
	series := []struct {
		key, name string
		color     color.Color
		offset    vg.Length
	}{
		{"ours", "kuberos-registry webhook", color.RGBA{R: 31, G: 119, B: 180, A: 255}, -width / 2},
		{"floor", "no-op webhook (floor)", color.RGBA{R: 255, G: 127, B: 14, A: 255}, width / 2},
	}
	for _, s := range series {
		values := make(plotter.Values, len(chartQuantiles))
		for i, q := range chartQuantiles {
			values[i] = load.Percentiles[s.key][q.key]
		}
		bars, err := plotter.NewBarChart(values, width)
		if err != nil {
			return fmt.Errorf("failed to draw the %s bars: %w", s.key, err)
		}
		bars.Color = s.color
		bars.LineStyle.Width = 0
		bars.Offset = s.offset
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	labels := make([]string, len(chartQuantiles))
	for i, q := range chartQuantiles {
		labels[i] = q.label
	}
	p.NominalX(labels...)

	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("failed to create the chart's directory: %w", err)
	}
	if err := p.Save(7*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}
