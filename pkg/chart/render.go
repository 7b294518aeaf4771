// Package chart renders the kuberos-registry Helm chart through the Helm SDK, the way `helm
// template` does, for `make manifests` and the tests that hold the chart to the code. It does
// not install anything.
package chart

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// Defaults of a release as the README installs it.
const (
	ReleaseName      = "kuberos-registry"
	ReleaseNamespace = "kuberos-registry"
)

// Dir returns the chart's directory in this repository.
func Dir() string {
	_, file, _, _ := runtime.Caller(0) //nolint:dogsled // only the file is needed
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "kuberos-registry")
}

// Load reads the chart from its directory.
func Load() (*chartv2.Chart, error) {
	c, err := loader.Load(Dir())
	if err != nil {
		return nil, fmt.Errorf("failed to load the chart: %w", err)
	}
	return c, nil
}

// Render renders the chart with the values over its defaults, validating them against
// values.schema.json as `helm install` does, and returns the manifests by template name.
// Templates that render to nothing are left out.
func Render(values map[string]any, name, namespace string) (map[string]string, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	top, err := util.ToRenderValues(c, values, common.ReleaseOptions{
		Name: name, Namespace: namespace, IsInstall: true, Revision: 1,
	}, nil)
	if err != nil {
		return nil, err
	}
	rendered, err := engine.Render(c, top)
	if err != nil {
		return nil, fmt.Errorf("failed to render the chart: %w", err)
	}
	out := map[string]string{}
	for file, text := range rendered {
		if strings.HasSuffix(file, "NOTES.txt") || strings.TrimSpace(text) == "" {
			continue
		}
		out[filepath.Base(file)] = text
	}
	return out, nil
}

// Manifest renders the chart and joins its templates into one YAML stream, in the order of
// their file names, each document headed by its source as `helm template` does.
func Manifest(values map[string]any, name, namespace string) (string, error) {
	rendered, err := Render(values, name, namespace)
	if err != nil {
		return "", err
	}
	files := make([]string, 0, len(rendered))
	for file := range rendered {
		files = append(files, file)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, file := range files {
		fmt.Fprintf(&b, "---\n# Source: kuberos-registry/templates/%s\n", file)
		b.WriteString(strings.TrimLeft(rendered[file], "\n"))
		if !strings.HasSuffix(rendered[file], "\n") {
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}
