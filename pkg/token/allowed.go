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
	return matchesAny(AllowedPatterns(value), namespace)
}

// NamespaceAllows reports whether the namespace accepts copies of the named token. A
// namespace without the allowed-tokens annotation accepts every token; otherwise the token's
// name must equal one of the comma-separated names or match one of its * patterns.
func NamespaceAllows(ns *corev1.Namespace, tokenName string) bool {
	if ns == nil {
		return true
	}
	value, ok := ns.Annotations[contract.AllowedTokens]
	if !ok {
		return true
	}
	return matchesAny(AllowedPatterns(value), tokenName)
}

// CanCopy reports whether the token may be copied into the namespace: the token allows the
// namespace and the namespace accepts the token.
func CanCopy(token *corev1.Secret, ns *corev1.Namespace) bool {
	return Allows(token, ns.Name) && NamespaceAllows(ns, token.Name)
}

func matchesAny(patterns []string, name string) bool {
	for _, pattern := range patterns {
		// path.Match only fails on a malformed pattern, which then matches nothing.
		if matched, _ := path.Match(pattern, name); matched {
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
