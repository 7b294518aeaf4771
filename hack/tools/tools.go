//go:build tools

// Package tools pins the real control-plane components that the end-to-end tests run:
// kube-apiserver and kubectl from k8s.io/kubernetes and etcd from go.etcd.io/etcd/server/v3.
// They live in this module so the main go.mod carries none of their dependencies.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
