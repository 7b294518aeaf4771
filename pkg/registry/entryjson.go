package registry

import (
	"strings"
	"unicode/utf8"

	kjson "sigs.k8s.io/json"
)

// parseJSONList reads the form KubeROS writes into contract.ContainerRegistry, a JSON list of
// objects with known fields whose values are strings or null, into what the YAML parser
// yields for it. It reports false for anything else: other types, unknown or repeated keys,
// escapes, tabs, invalid UTF-8 or data after the list. The strict YAML parser then reads the
// value and words any error, so both paths accept and refuse the same values.
//
// It exists for speed: the YAML parser cost about a third of the admission of a well-formed
// KubeROS Pod (BENCHMARKS.md, handler).
func parseJSONList(value string) ([]any, bool) {
	// null is left to the YAML parser: here a null and a missing field would look alike.
	if !strings.HasPrefix(strings.TrimSpace(value), "[") ||
		strings.ContainsAny(value, "\\\t") || strings.Contains(value, "null") ||
		!utf8.ValidString(value) {
		return nil, false
	}
	// One strict, case-sensitive pass: unknown or repeated keys, other types and trailing
	// data all fail it.
	var list []jsonEntry
	strict, err := kjson.UnmarshalStrict([]byte(value), &list)
	if err != nil || len(strict) > 0 || list == nil {
		return nil, false
	}
	items := make([]any, len(list))
	for i, e := range list {
		fields := make(map[string]any, len(entryFields))
		if e.Name != nil {
			fields["name"] = *e.Name
		}
		if e.ImagePullSecretName != nil {
			fields["imagePullSecretName"] = *e.ImagePullSecretName
		}
		if e.ImagePullPolicy != nil {
			fields["imagePullPolicy"] = *e.ImagePullPolicy
		}
		items[i] = fields
	}
	return items, true
}

// jsonEntry is an entry as JSON carries it; a nil field was absent.
type jsonEntry struct {
	Name                *string `json:"name"`
	ImagePullSecretName *string `json:"imagePullSecretName"`
	ImagePullPolicy     *string `json:"imagePullPolicy"`
}
