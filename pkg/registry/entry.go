package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Entry is one item of a containerRegistry list, with the field names of the KubeROS
// deployment manifest. An empty ImagePullPolicy leaves the container's policy as it is.
type Entry struct {
	Name                string            `json:"name"`
	ImagePullSecretName string            `json:"imagePullSecretName"`
	ImagePullPolicy     corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
}

// entryFields are the fields an entry may have, spelled exactly. encoding/json matches field
// names without regard to case, so strict decoding alone would accept "imagepullsecretname".
var entryFields = map[string]bool{
	"name":                true,
	"imagePullSecretName": true,
	"imagePullPolicy":     true,
}

// allowedPolicies are the pull policies an entry may set, in the order errors list them.
var allowedPolicies = []corev1.PullPolicy{
	corev1.PullAlways,
	corev1.PullIfNotPresent,
	corev1.PullNever,
}

// source tells errors where a list came from: the Pod annotation or the --config file, and
// the key that holds the list there.
type source struct {
	where string
	list  string
}

var (
	annotationSource = source{where: "annotation " + contract.ContainerRegistry,
		list: "containerRegistry"}
	configSource = source{where: "--config file", list: "registries"}
)

// errorf returns an error that starts with where the list came from.
func (s source) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", s.where, fmt.Sprintf(format, args...))
}

// item names the entry at index i, with its name when it has one.
func (s source) item(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", s.list, i)
	}
	return fmt.Sprintf("%s[%d] (name %s)", s.list, i, quote(name))
}

// listExample is how a valid list reads, for hints.
const listExample = `"- {name: default, imagePullSecretName: my-registry-token}"`

// ParseEntries parses the value of the Pod annotation contract.ContainerRegistry, a YAML or
// JSON list of entries, and validates every entry. An empty value is an empty list.
func ParseEntries(value string) ([]Entry, error) {
	if err := checkSize(contract.ContainerRegistry, value); err != nil {
		return nil, fmt.Errorf("%w; for example %s", err, listExample)
	}
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	if items, ok := parseJSONList(value); ok {
		return decodeEntries(items, annotationSource)
	}

	var raw any
	if err := yaml.UnmarshalStrict([]byte(value), &raw); err != nil {
		return nil, annotationSource.errorf("failed to parse the %s list: %v; write a YAML or "+
			"JSON list, for example %s", annotationSource.list, err, listExample)
	}
	return decodeEntries(raw, annotationSource)
}

// decodeEntries turns a decoded YAML value into validated entries. Nil is an empty list.
func decodeEntries(raw any, src source) ([]Entry, error) {
	if raw == nil {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, src.errorf("the %s value is %s, not a list; write a list of entries, "+
			"for example %s", src.list, kindOf(raw), listExample)
	}

	entries := make([]Entry, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		entry, err := decodeEntry(item, i, src)
		if err != nil {
			return nil, err
		}
		if err := validateEntry(entry, i, src); err != nil {
			return nil, err
		}
		if first, ok := seen[entry.Name]; ok {
			return nil, src.errorf("%s has the same name as %s[%d]; give each entry its "+
				"own name", src.item(i, entry.Name), src.list, first)
		}
		seen[entry.Name] = i
		entries = append(entries, entry)
	}
	return entries, nil
}

// decodeEntry decodes one item of a list strictly: a mapping with known fields whose values
// are strings. A number or a boolean is refused rather than converted: YAML would turn
// `name: 1.0` into "1" and a long number into an exponent, so the name matched would not be
// the name written.
func decodeEntry(item any, i int, src source) (Entry, error) {
	fields, ok := item.(map[string]any)
	if !ok {
		return Entry{}, src.errorf("%s is %s, not a mapping; write each entry as a mapping, "+
			"for example %s", src.item(i, ""), kindOf(item), listExample)
	}
	name, _ := fields["name"].(string) // only for messages; a wrong type is reported below
	values := make(map[string]string, len(fields))
	for _, key := range sortedKeys(fields) {
		if !entryFields[key] {
			return Entry{}, src.errorf("%s has an unknown field %s; the fields are name, "+
				"imagePullSecretName and imagePullPolicy", src.item(i, name), quote(key))
		}
		switch value := fields[key].(type) {
		case string:
			values[key] = value
		case nil: // an empty field, as if it were absent
		default:
			return Entry{}, src.errorf("failed to read %s: field %s is %s, not a string; every "+
				"field is a string, quote it, for example %s", src.item(i, name), key,
				kindOf(value),
				`"- {name: '2024', imagePullSecretName: my-registry-token}"`)
		}
	}
	return Entry{
		Name:                values["name"],
		ImagePullSecretName: values["imagePullSecretName"],
		ImagePullPolicy:     corev1.PullPolicy(values["imagePullPolicy"]),
	}, nil
}

// validateEntry checks one entry for what resolution and the kubelet need.
func validateEntry(entry Entry, i int, src source) error {
	// item is only written into errors: build it only for one.
	item := func() string { return src.item(i, entry.Name) }
	switch {
	case entry.Name == "":
		return src.errorf("%s has no name; add one, for example %q", item(), "name: default")
	case !isValidRegistryName(entry.Name):
		return src.errorf("%s: a registry name has no whitespace, '=' or ','; rename it, "+
			"for example %q", item(), "name: second-registry")
	case entry.ImagePullSecretName == "":
		return src.errorf("%s has no imagePullSecretName; add the Secret to pull with, for "+
			"example %q", item(), "imagePullSecretName: kuberos-registry-token-default")
	}
	if msgs := validation.IsDNS1123Subdomain(entry.ImagePullSecretName); len(msgs) > 0 {
		return src.errorf("%s: imagePullSecretName %s is not a valid Secret name (%s); "+
			"rename it, for example %q", item(), quote(entry.ImagePullSecretName),
			strings.Join(msgs, "; "), "imagePullSecretName: my-registry-token")
	}
	if entry.ImagePullPolicy == "" || slices.Contains(allowedPolicies, entry.ImagePullPolicy) {
		return nil
	}
	return validatePolicy(entry.ImagePullPolicy, item(), src)
}

// validatePolicy accepts an empty policy and the three the kubelet knows.
func validatePolicy(policy corev1.PullPolicy, item string, src source) error {
	if policy == "" {
		return nil
	}
	for _, allowed := range allowedPolicies {
		if policy == allowed {
			return nil
		}
	}
	return src.errorf("%s: imagePullPolicy %s is not valid; use Always, IfNotPresent or "+
		"Never, for example %q", item, quote(string(policy)), "imagePullPolicy: IfNotPresent")
}

// isValidRegistryName reports whether a registry name can be written in
// contract.ContainerRegistryName: not empty, without whitespace, '=' or ','.
func isValidRegistryName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=,") &&
		strings.IndexFunc(name, unicode.IsSpace) < 0
}

// kindOf names the YAML kind of a decoded value, for messages.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64, int64, int, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "empty"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
