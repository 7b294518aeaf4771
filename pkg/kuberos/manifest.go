package kuberos

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/registry"
)

// Kinds of manifest that carry ROSModules.
const (
	KindApplicationDeployment = "ApplicationDeployment"
	KindBatchJob              = "BatchJob"
)

// Manifest is the part of a KubeROS deployment manifest that concerns registries.
type Manifest struct {
	APIVersion        string           `json:"apiVersion"`
	Kind              string           `json:"kind"`
	Metadata          Metadata         `json:"metadata"`
	RosModules        []RosModule      `json:"rosModules"`
	ContainerRegistry []registry.Entry `json:"containerRegistry,omitempty"`
}

// Metadata holds the manifest's name and the robots it targets.
type Metadata struct {
	Name         string   `json:"name"`
	TargetRobots []string `json:"targetRobots,omitempty"`
}

// RosModule is one module: it becomes one Pod with one container named after it.
type RosModule struct {
	Name                  string `json:"name"`
	Image                 string `json:"image"`
	ContainerRegistryName string `json:"containerRegistryName,omitempty"`
}

// ReadManifest reads a manifest file.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path) //nolint:gosec // reading the file the user names is the point
	if err != nil {
		return nil, fmt.Errorf("failed to read manifest: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseManifest parses a manifest. Fields this project does not read are ignored, as KubeROS
// manifests hold many; the ones it reads must have the right shape.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	if err := yaml.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("invalid KubeROS manifest: %w", err)
	}
	if m.Kind != KindApplicationDeployment && m.Kind != KindBatchJob {
		return nil, fmt.Errorf("invalid KubeROS manifest: kind %q is not %s or %s",
			m.Kind, KindApplicationDeployment, KindBatchJob)
	}
	for i, module := range m.RosModules {
		if module.Name == "" || module.Image == "" {
			return nil, fmt.Errorf("invalid KubeROS manifest: rosModules[%d] needs a name and "+
				"an image", i)
		}
	}
	return m, nil
}
