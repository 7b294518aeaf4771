// Package cli implements the kuberos-registry command: registry tokens (create, list, info,
// update, delete, attach, detach), the clusters of a kubeconfig, and the check of a KubeROS
// deployment manifest. Commands talk to the API server only; they never print a token after
// it was stored.
package cli
