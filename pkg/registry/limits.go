package registry

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/validation"
)

// maxValueBytes is the largest annotation value the parsers read. The API server refuses an
// object whose annotations together exceed this size (apimachinery
// pkg/api/validation/objectmeta.go, TotalAnnotationSizeLimitB), but mutating webhooks see the
// object before validation: a larger value can reach us, and parsing megabytes of YAML takes
// seconds of the webhook's budget for a Pod that would be refused anyway.
const maxValueBytes = validation.TotalAnnotationSizeLimitB

// maxQuotedBytes is how much of a value from the user an error message repeats: enough to
// recognise it, never the megabytes it may have.
const maxQuotedBytes = 64

// maxListedNames is how many names an error message lists before it says how many more exist.
const maxListedNames = 10

// checkSize refuses a value larger than the API server allows for all annotations together.
func checkSize(annotation, value string) error {
	if len(value) <= maxValueBytes {
		return nil
	}
	return fmt.Errorf("annotation %s: the value is %d bytes, more than the %d bytes the API "+
		"server allows for all annotations of an object; shorten it", annotation, len(value),
		maxValueBytes)
}

// quote writes a value from the user in double quotes, as %q does, cut after maxQuotedBytes
// with the length of the whole.
func quote(s string) string {
	if len(s) <= maxQuotedBytes {
		return strconv.Quote(s)
	}
	cut := maxQuotedBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// listOrNone writes names separated by commas, at most maxListedNames of them, or "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	shown := names
	if len(names) > maxListedNames {
		shown = names[:maxListedNames]
	}
	quoted := make([]string, len(shown))
	for i, name := range shown {
		quoted[i] = shortName(name)
	}
	list := strings.Join(quoted, ", ")
	if len(names) > len(shown) {
		list += fmt.Sprintf(" and %d more", len(names)-len(shown))
	}
	return list
}

// shortName is a name as it is, or quoted and cut when it is longer than maxQuotedBytes.
func shortName(name string) string {
	if len(name) <= maxQuotedBytes {
		return name
	}
	return quote(name)
}
