// Package e2e tests kuberos-registry end to end against a real kube-apiserver and etcd run by
// controller-runtime's envtest, from the binaries `make envtest-assets` builds into bin/k8s.
// The webhook and controllers run in the test process, wired exactly as the binary wires
// them, and the API server calls them through a MutatingWebhookConfiguration with the
// settings the chart ships.
package e2e
