package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// Value is one documented key of values.yaml.
type Value struct {
	// Key is the dotted path, for example image.repository.
	Key string
	// Default is the value in values.yaml, as JSON.
	Default string
	// Doc is the comment above the key, or above its nearest documented parent.
	Doc string
	// Documented is false when neither the key nor a parent has a comment.
	Documented bool
}

// Values reads values.yaml and returns its leaf keys in file order with their comments.
func Values() ([]Value, error) {
	data, err := os.ReadFile(filepath.Join(Dir(), "values.yaml"))
	if err != nil {
		return nil, fmt.Errorf("failed to read values.yaml: %w", err)
	}
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("failed to parse values.yaml: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	var out []Value
	walkValues(root.Content[0], "", "", &out)
	return out, nil
}

func walkValues(node *yamlv3.Node, prefix, parentDoc string, out *[]Value) {
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		path := key.Value
		if prefix != "" {
			path = prefix + "." + key.Value
		}
		doc := commentText(key.HeadComment)
		if doc == "" {
			doc = parentDoc
		}
		if value.Kind == yamlv3.MappingNode && len(value.Content) > 0 {
			walkValues(value, path, doc, out)
			continue
		}
		var decoded any
		_ = value.Decode(&decoded)           // a node the parser produced always decodes
		rendered, _ := json.Marshal(decoded) //nolint:errchkjson // plain YAML values
		*out = append(*out, Value{Key: path, Default: string(rendered), Doc: doc,
			Documented: doc != ""})
	}
}

// commentText turns a head comment into one line of prose; commented-out YAML examples
// (lines that start with a space or a dash after #) are left out.
func commentText(comment string) string {
	var words []string
	for _, line := range strings.Split(comment, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "#")
		if line == "" || strings.HasPrefix(line, "  ") || strings.HasPrefix(line, " -") {
			continue
		}
		words = append(words, strings.TrimSpace(line))
	}
	return strings.Join(words, " ")
}

// ValuesTable renders the values as the Markdown table of the README.
func ValuesTable() (string, error) {
	values, err := Values()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| key | default | description |\n|---|---|---|\n")
	for _, v := range values {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", v.Key, v.Default,
			strings.ReplaceAll(v.Doc, "|", "\\|"))
	}
	return b.String(), nil
}
