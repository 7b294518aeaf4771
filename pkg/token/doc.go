// Package token reads registry tokens from the store namespace and makes the copies of them
// that Pods in workload namespaces pull with. It decides which namespaces a token may be
// copied into and builds copies that carry the contract's labels; it never touches a Secret
// that is not labelled as one of ours.
package token
