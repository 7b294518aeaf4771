package webhook

import (
	"fmt"
	"strings"

	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kuberos-io/kuberos-registry/pkg/registry"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// MissingSecretPolicy says what happens to a Pod whose pull secret exists nowhere.
type MissingSecretPolicy string

const (
	// Warn admits the Pod with an admission warning and an Event. It is the default: a Pod
	// whose image turns out to be public still runs.
	Warn MissingSecretPolicy = "Warn"
	// Deny refuses the Pod, saying which Secret is missing and how to add the token.
	Deny MissingSecretPolicy = "Deny"
)

// ParseMissingSecretPolicy parses the value of --on-missing-secret.
func ParseMissingSecretPolicy(value string) (MissingSecretPolicy, error) {
	for _, p := range []MissingSecretPolicy{Warn, Deny} {
		if strings.EqualFold(value, string(p)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("invalid --on-missing-secret %q: use %s or %s", value, Warn, Deny)
}

// Options wire the handler to the cluster.
type Options struct {
	// Client reads namespaces and copies from the cache and creates copies.
	Client client.Client
	// APIReader reads what the cache may not hold yet: a namespace or Secret created a
	// moment ago.
	APIReader client.Reader
	// Store holds the registry tokens.
	Store token.Store
	// Cluster is the cluster-wide registry list from --config.
	Cluster []registry.Entry
	// OnMissingSecret defaults to Warn.
	OnMissingSecret MissingSecretPolicy
	// Recorder emits Events; nil emits none.
	Recorder events.EventRecorder
}
