// Command cert-manager-controllers runs cert-manager's certificate controllers and its CA
// injector outside a cluster, against the API server that a kubeconfig names.
//
// It exists for the end-to-end tests and local demos: the kuberos-registry chart gets its TLS
// from cert-manager objects (a self-signed Issuer, a CA Certificate, a CA Issuer, the serving
// Certificate, and cert-manager.io/inject-ca-from on the webhook configuration), and something
// has to act on them. cert-manager ships its binaries from the cmd/controller and cmd/cainjector
// modules, which the Go module proxy reachable from our build machines does not serve; the
// controller packages under pkg/ of github.com/cert-manager/cert-manager are served. This
// program is only the wiring of those packages: the logic is cert-manager's.
//
// What it runs:
//   - the Issuer status controller (and the ClusterIssuer one when watching every namespace),
//     for the selfSigned and ca issuer types;
//   - the CertificateRequest approver and the selfSigned and ca CertificateRequest signers;
//   - the Certificate controllers: trigger, key manager, request manager, issuing, readiness and
//     revision manager;
//   - the CA injector for webhook configurations, APIServices and CRDs, which reads the
//     cert-manager.io/inject-ca-from (a Certificate) and inject-ca-from-secret annotations.
//
// What it does not do: ACME, Vault and Venafi issuers, the ingress and Gateway shims,
// cert-manager's own admission webhook (so nothing validates or defaults cert-manager objects),
// metrics and health endpoints, and leader election: run one instance per API server.
//
// Build it with hack/certmanager/build.sh into bin/, then, with cert-manager's CRDs installed
// (deploy/crds of the same module):
//
//	bin/cert-manager-controllers --kubeconfig FILE [--namespace NS] [--log-level 2]
//
// The packages it wires are not a stable API, which is why go.mod pins cert-manager at exactly
// v1.21.2; build.sh puts that version in its stamp so a bump rebuilds the binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cmapi "github.com/cert-manager/cert-manager/pkg/api"
	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	"github.com/cert-manager/cert-manager/pkg/util"

	// The issuer types the Issuer controllers and the signers can resolve; each registers
	// itself with cert-manager's issuer registry when imported.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

const (
	// workers per controller: cert-manager's default (--concurrent-workers).
	workers = 5

	// clusterResourceNamespace is where a ClusterIssuer's Secrets are read from:
	// cert-manager's default (--cluster-resource-namespace).
	clusterResourceNamespace = "kube-system"

	// The client limits cert-manager uses when the API server does not do priority and
	// fairness; with it (every supported Kubernetes) the clients do not throttle.
	apiQPS   = 20
	apiBurst = 50

	// The back-off after a failed CertificateRequest: cert-manager's defaults.
	minRequestBackoff = time.Hour
	maxRequestBackoff = 32 * time.Hour
)

// options is what the command line sets.
type options struct {
	// kubeconfig is the path of the kubeconfig naming the API server and credentials.
	kubeconfig string

	// namespace limits what is watched to one namespace; empty means every namespace.
	namespace string
}

func main() {
	opts, logLevel, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = setupLogs(logLevel)
	}
	if err == nil {
		err = run(ctrl.SetupSignalHandler(), opts)
	}
	if err != nil {
		klog.ErrorS(err, "cert-manager controllers stopped")
		klog.Flush()
		os.Exit(1)
	}
}

// parseFlags reads the command line into options and a log level. It uses a flag set of its
// own: controller-runtime registers a --kubeconfig of its own on the global one.
func parseFlags(args []string) (options, int, error) {
	var opts options
	var logLevel int
	fs := flag.NewFlagSet("cert-manager-controllers", flag.ContinueOnError)
	fs.StringVar(&opts.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"),
		"path of the kubeconfig of the API server to run against (default $KUBECONFIG)")
	fs.StringVar(&opts.namespace, "namespace", "",
		"watch only this namespace (default: every namespace)")
	fs.IntVar(&logLevel, "log-level", 2,
		"log verbosity: 0 errors, 1 warnings, 2 info, 4 debug, 5 trace (cert-manager's levels)")
	if err := fs.Parse(args); err != nil {
		return options{}, 0, err
	}
	if fs.NArg() > 0 {
		return options{}, 0, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return opts, logLevel, nil
}

// setupLogs sends the logs of cert-manager and of controller-runtime to klog at the given
// verbosity.
func setupLogs(level int) error {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if err := fs.Set("v", strconv.Itoa(level)); err != nil {
		return fmt.Errorf("failed to set log level %d: %w", level, err)
	}
	klog.EnableContextualLogging(true)
	ctrl.SetLogger(klog.NewKlogr())
	return nil
}

// run starts the certificate controllers and the CA injector against the API server of
// opts.kubeconfig and blocks until ctx is done or one of them fails.
func run(ctx context.Context, opts options) error {
	if opts.kubeconfig == "" {
		return errors.New("no kubeconfig: set --kubeconfig or $KUBECONFIG")
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig %s: %w", opts.kubeconfig, err)
	}
	klog.InfoS("starting cert-manager controllers", "host", restConfig.Host,
		"namespace", opts.namespace, "controllers", controllerNames(opts))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	err = startCertificateControllers(ctx, g, opts)
	if err == nil {
		err = startCAInjector(ctx, g, restConfig, opts)
	}
	if err != nil {
		// Stop what already runs before reporting why the rest could not start.
		cancel()
		_ = g.Wait() // the start-up error is the one worth reporting
		return err
	}
	return g.Wait()
}

// controllerNames lists the cert-manager controllers to run, by their registered names.
// ClusterIssuers are cluster-scoped, so cert-manager runs their controller only when it
// watches every namespace; so do we.
func controllerNames(opts options) []string {
	names := []string{
		issuers.ControllerName,
		approver.ControllerName,
		crselfsigned.CRControllerName,
		crca.CRControllerName,
		trigger.ControllerName,
		keymanager.ControllerName,
		requestmanager.ControllerName,
		issuing.ControllerName,
		readiness.ControllerName,
		revisionmanager.ControllerName,
	}
	if opts.namespace == "" {
		names = append(names, clusterissuers.ControllerName)
	}
	return names
}

// startCertificateControllers builds the controllers through cert-manager's registry, as its
// own controller binary does, then starts the shared informers they registered with.
func startCertificateControllers(ctx context.Context, g *errgroup.Group, opts options) error {
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         opts.kubeconfig,
		Namespace:          opts.namespace,
		KubernetesAPIQPS:   apiQPS,
		KubernetesAPIBurst: apiBurst,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: clusterResourceNamespace,
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: minRequestBackoff,
			CertificateRequestMaximumBackoffDuration: maxRequestBackoff,
		},
	})
	if err != nil {
		return fmt.Errorf("failed to build the cert-manager controller context: %w", err)
	}

	known := controller.Known()
	for _, name := range controllerNames(opts) {
		construct, ok := known[name]
		if !ok {
			return fmt.Errorf("cert-manager controller %s is not registered", name)
		}
		c, err := construct(factory)
		if err != nil {
			return fmt.Errorf("failed to build cert-manager controller %s: %w", name, err)
		}
		g.Go(func() error {
			if err := c.Run(workers, ctx); err != nil {
				return fmt.Errorf("cert-manager controller %s failed: %w", name, err)
			}
			return nil
		})
	}

	// Every controller's context shares the factory's informers; they start once, after all
	// controllers have asked for theirs, or the late ones would never run.
	shared, err := factory.Build()
	if err != nil {
		return fmt.Errorf("failed to build the shared informer context: %w", err)
	}
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	return nil
}

// startCAInjector runs cert-manager's CA injector in a controller-runtime manager, configured
// as cert-manager's cainjector configures it.
func startCAInjector(
	ctx context.Context,
	g *errgroup.Group,
	restConfig *rest.Config,
	opts options,
) error {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		cmapi.AddToScheme,
		apiextensionsv1.AddToScheme,
		apiregistrationv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("failed to build the CA injector scheme: %w", err)
		}
	}

	var namespaces map[string]cache.Config
	if opts.namespace != "" {
		namespaces = map[string]cache.Config{opts.namespace: {}}
	}

	// The injector applies caBundle with server-side apply under a field manager taken from
	// the user agent, and the API server rejects an empty one; a kubeconfig sets none.
	injectorConfig := util.RestConfigWithUserAgent(restConfig, "cainjector")
	mgr, err := ctrl.NewManager(injectorConfig, ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{DefaultNamespaces: namespaces},
		// Secrets are watched as metadata only and read directly, never cached in full: the
		// injector reads just the few it injects from.
		Client: client.Options{Cache: &client.CacheOptions{
			DisableFor: []client.Object{&corev1.Secret{}},
		}},
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("failed to create the CA injector manager: %w", err)
	}

	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    opts.namespace,
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
			cainjector.APIServiceName:                     true,
			cainjector.CustomResourceDefinitionName:       true,
		},
	})
	if err != nil {
		return fmt.Errorf("failed to register the CA injectors: %w", err)
	}

	g.Go(func() error {
		if err := mgr.Start(ctx); err != nil {
			return fmt.Errorf("CA injector failed: %w", err)
		}
		return nil
	})
	return nil
}
