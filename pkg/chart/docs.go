package chart

import (
	"errors"
	"strings"
)

// Markers around the values table in the README.
const (
	valuesBegin = "<!-- values table: written by `make manifests` from values.yaml -->"
	valuesEnd   = "<!-- end of values table -->"
)

// manifestHeader heads manifests/kuberos-registry.yaml.
const manifestHeader = "# kuberos-registry, rendered from charts/kuberos-registry with its\n" +
	"# default values by `make manifests`; do not edit. Install into the namespace\n" +
	"# kuberos-registry on a cluster with cert-manager:\n" +
	"#   kubectl create namespace kuberos-registry\n" +
	"#   kubectl apply -n kuberos-registry -f manifests/kuberos-registry.yaml\n"

// InstallManifest renders the chart with its defaults as manifests/kuberos-registry.yaml
// holds it.
func InstallManifest() (string, error) {
	manifest, err := Manifest(nil, ReleaseName, ReleaseNamespace)
	if err != nil {
		return "", err
	}
	return manifestHeader + manifest, nil
}

// WithValuesTable returns the README with the values table between its markers replaced by
// the table of values.yaml.
func WithValuesTable(readme string) (string, error) {
	begin := strings.Index(readme, valuesBegin)
	end := strings.Index(readme, valuesEnd)
	if begin < 0 || end < begin {
		return "", errors.New("the README has no values table markers: add " + valuesBegin +
			" and " + valuesEnd)
	}
	table, err := ValuesTable()
	if err != nil {
		return "", err
	}
	return readme[:begin+len(valuesBegin)] + "\n" + table + readme[end:], nil
}
