package registry

import (
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
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
	if !strings.HasPrefix(strings.TrimSpace(value), "[") ||
		strings.ContainsAny(value, "\\\t") || !utf8.ValidString(value) {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(value))
	if !isDelim(dec, '[') {
		return nil, false
	}
	items := []any{}
	for dec.More() {
		fields, ok := parseJSONEntry(dec)
		if !ok {
			return nil, false
		}
		items = append(items, fields)
	}
	if !isDelim(dec, ']') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return items, true
}

// parseJSONEntry reads one object of the list.
func parseJSONEntry(dec *json.Decoder) (map[string]any, bool) {
	if !isDelim(dec, '{') {
		return nil, false
	}
	fields := make(map[string]any, len(entryFields))
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok || !entryFields[key] {
			return nil, false
		}
		if _, repeated := fields[key]; repeated {
			return nil, false
		}
		t, err = dec.Token()
		if err != nil {
			return nil, false
		}
		switch value := t.(type) {
		case string:
			fields[key] = value
		case nil:
			fields[key] = nil
		default:
			return nil, false
		}
	}
	return fields, isDelim(dec, '}')
}

func isDelim(dec *json.Decoder, delim json.Delim) bool {
	t, err := dec.Token()
	return err == nil && t == delim
}
