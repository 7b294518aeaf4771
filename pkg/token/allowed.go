package token

import (
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Allows reports whether the token may be copied into the namespace. A token without the
// allowed-namespaces annotation is allowed in every namespace; otherwise the namespace must
// equal one of the comma-separated names or match one of its * patterns.
func Allows(token *corev1.Secret, namespace string) bool {
	value, ok := token.Annotations[contract.AllowedNamespaces]
	if !ok {
		return true
	}
	for _, pattern := range AllowedPatterns(value) {
		// path.Match only fails on a malformed pattern, which then allows nothing.
		if matched, _ := path.Match(pattern, namespace); matched {
			return true
		}
	}
	return false
}

// AllowedPatterns splits an allowed-namespaces value into its names and patterns, dropping
// empty items.
func AllowedPatterns(value string) []string {
	var patterns []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			patterns = append(patterns, item)
		}
	}
	return patterns
}

// pathMatch checks that a pattern is well formed.
func pathMatch(pattern string) (bool, error) {
	return path.Match(pattern, "")
}
