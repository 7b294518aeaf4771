// Package server assembles the webhook binary: a controller-runtime manager whose webhook
// server serves the Pod mutator on every replica, and whose leader runs the reconcilers. It
// holds the wiring only; the binary's flags live in cmd/kuberos-registry-webhook and the
// behaviour in the webhook and controller packages.
package server

import (
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/controller"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
	"github.com/kuberos-io/kuberos-registry/webhook"
)

// Options configure the server. The zero value of each field is its documented default.
type Options struct {
	// TokenNamespace is the store namespace; "" means DefaultTokenNamespace().
	TokenNamespace string
	// ConfigFile is the cluster-wide registry list; "" means none.
	ConfigFile string
	// OnMissingSecret is Warn when "".
	OnMissingSecret webhook.MissingSecretPolicy
	// CertDir holds tls.crt and tls.key, reloaded when they change.
	CertDir string
	// Host and Port are where the webhook listens; Port 0 means 9443.
	Host string
	Port int
	// MetricsBindAddress serves Prometheus metrics; "0" turns them off.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; "0" turns them off.
	HealthProbeBindAddress string
	// LeaderElect makes the reconcilers run on one replica at a time.
	LeaderElect bool
	// LeaseDuration, RenewDeadline and RetryPeriod time the leader election; zero means
	// DefaultLeaseDuration, DefaultRenewDeadline and DefaultRetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Leader election timing. A leader that cannot renew its lease within the renew deadline
// stops, and with it the process: client-go's defaults (15 s, 10 s, 2 s) end the webhook on
// any API server outage longer than 10 s, such as a control-plane restart. These defaults
// ride out outages up to 40 s, at the price of a failover of up to 60 s when a leader dies,
// which only delays copies catching up with a rotation; every replica keeps serving Pods.
const (
	DefaultLeaseDuration = 60 * time.Second
	DefaultRenewDeadline = 40 * time.Second
	DefaultRetryPeriod   = 5 * time.Second
)

// serviceAccountNamespace is where the kubelet mounts the namespace the Pod runs in.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// DefaultTokenNamespace returns the namespace the binary runs in (POD_NAMESPACE, else the
// service account's), or contract.DefaultTokenNamespace out of cluster.
func DefaultTokenNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if data, err := os.ReadFile(serviceAccountNamespace); err == nil {
		if ns := strings.TrimSpace(string(data)); ns != "" {
			return ns
		}
	}
	return contract.DefaultTokenNamespace
}

// New builds the manager with the webhook and the reconcilers registered. Start it with
// mgr.Start.
func New(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.TokenNamespace == "" {
		opts.TokenNamespace = DefaultTokenNamespace()
	}
	opts.LeaseDuration = orDefault(opts.LeaseDuration, DefaultLeaseDuration)
	opts.RenewDeadline = orDefault(opts.RenewDeadline, DefaultRenewDeadline)
	opts.RetryPeriod = orDefault(opts.RetryPeriod, DefaultRetryPeriod)
	var cluster []registry.Entry
	if opts.ConfigFile != "" {
		config, err := registry.LoadConfig(opts.ConfigFile)
		if err != nil {
			return nil, err
		}
		cluster = config.Registries
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Cache: cache.Options{
			// Nothing reads managedFields; on 10,000 objects they are megabytes.
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				// Only the Secrets the system owns are cached: tokens and copies. Any other
				// Secret is read live when needed, so the cache stays small on busy clusters.
				//
				// Reads share the cached object instead of copying it (no deep copy on each
				// of a Pod's reads): every reader here treats what it reads as read-only and
				// deep-copies before changing anything.
				&corev1.Secret{}: {
					Label: labels.SelectorFromSet(map[string]string{
						contract.ManagedBy: contract.ManagedByValue,
					}),
					UnsafeDisableDeepCopy: ptrTo(true),
				},
				// Namespaces keep only what the system reads and patches.
				&corev1.Namespace{}: {Transform: trimNamespace, UnsafeDisableDeepCopy: ptrTo(true)},
			},
		},
		WebhookServer: ctrlwebhook.NewServer(ctrlwebhook.Options{
			Host:    opts.Host,
			Port:    opts.Port,
			CertDir: opts.CertDir,
		}),
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
		LeaderElection:          opts.LeaderElect,
		LeaderElectionID:        "kuberos-registry-controllers",
		LeaderElectionNamespace: opts.TokenNamespace,
		LeaseDuration:           &opts.LeaseDuration,
		RenewDeadline:           &opts.RenewDeadline,
		RetryPeriod:             &opts.RetryPeriod,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the manager: %w", err)
	}

	mutator := webhook.NewPodMutator(webhook.Options{
		Client:          mgr.GetClient(),
		APIReader:       mgr.GetAPIReader(),
		Store:           token.NewStore(mgr.GetClient(), mgr.GetAPIReader(), opts.TokenNamespace),
		Cluster:         cluster,
		OnMissingSecret: opts.OnMissingSecret,
		Recorder:        mgr.GetEventRecorder(contract.FieldManager),
	})
	mgr.GetWebhookServer().Register(contract.WebhookPath, &admission.Webhook{
		Handler:      mutator,
		RecoverPanic: ptrTo(true),
	})

	namespaces := &controller.NamespaceReconciler{Client: mgr.GetClient()}
	if err := namespaces.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("failed to set up the namespace controller: %w", err)
	}
	tokens := &controller.TokenReconciler{
		Client:         mgr.GetClient(),
		APIReader:      mgr.GetAPIReader(),
		TokenNamespace: opts.TokenNamespace,
		Recorder:       mgr.GetEventRecorder(contract.FieldManager),
	}
	if err := tokens.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("failed to set up the token controller: %w", err)
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("failed to add the health check: %w", err)
	}
	// Ready only once the webhook server answers TLS with its certificate.
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, fmt.Errorf("failed to add the readiness check: %w", err)
	}
	return mgr, nil
}

func ptrTo[T any](v T) *T { return &v }

// trimNamespace keeps of a cached namespace its identity and the contract's keys: the
// webhook reads the inject and allowed-tokens annotations, the controller patches the inject
// label with a merge patch, which only sends what it changes.
func trimNamespace(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:              ns.Name,
		UID:               ns.UID,
		ResourceVersion:   ns.ResourceVersion,
		DeletionTimestamp: ns.DeletionTimestamp,
		Labels:            keep(ns.Labels, contract.Inject),
		Annotations:       keep(ns.Annotations, contract.Inject, contract.AllowedTokens),
	}}
	trimmed.Status.Phase = ns.Status.Phase
	return trimmed, nil
}

// keep returns the entries of m with the given keys, or nil when there are none.
func keep(m map[string]string, keys ...string) map[string]string {
	var out map[string]string
	for _, key := range keys {
		if value, ok := m[key]; ok {
			if out == nil {
				out = make(map[string]string, len(keys))
			}
			out[key] = value
		}
	}
	return out
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
