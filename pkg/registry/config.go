package registry

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Config is the cluster-wide file given to the webhook by --config, rendered from the Helm
// value `registries:`. Its entries apply to every opted-in namespace; an entry of the same
// name in a Pod's own list overrides one here.
type Config struct {
	Registries []Entry `json:"registries"`
}

// configExample is how a valid file reads, for hints.
const configExample = `"registries: [{name: default, imagePullSecretName: my-registry-token}]"`

// LoadConfig reads the file at path and parses it with ParseConfig.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path) //nolint:gosec // reading the file the user names is the point
	if err != nil {
		return Config{}, fmt.Errorf("failed to read --config file %s: %w", path, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("failed to load %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses a YAML or JSON document with the key `registries:`, a list of entries
// validated as in ParseEntries. Unknown keys are errors, so a misspelt key is not silently
// ignored. An empty document is an empty Config.
func ParseConfig(data []byte) (Config, error) {
	if strings.TrimSpace(string(data)) == "" {
		return Config{}, nil
	}

	var raw any
	if err := yaml.UnmarshalStrict(data, &raw); err != nil {
		return Config{}, configSource.errorf("failed to parse YAML: %v; write a document "+
			"with a registries list, for example %s", err, configExample)
	}
	if raw == nil {
		return Config{}, nil
	}
	doc, ok := raw.(map[string]any)
	if !ok {
		return Config{}, configSource.errorf("the document is %s, not a mapping; write a "+
			"document with a registries list, for example %s", kindOf(raw), configExample)
	}
	for _, key := range sortedKeys(doc) {
		if key != configSource.list {
			return Config{}, configSource.errorf("unknown key %q; the only key is "+
				"registries, for example %s", key, configExample)
		}
	}

	entries, err := decodeEntries(doc[configSource.list], configSource)
	if err != nil {
		return Config{}, err
	}
	return Config{Registries: entries}, nil
}
