package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/logging"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
	"github.com/kuberos-io/kuberos-registry/webhook"
)

// storeNamespace is the token store of the webhook under test.
const storeNamespace = contract.DefaultTokenNamespace

// denyPath serves the same handler with Deny for namespaces labelled denyLabel.
const (
	denyPath  = "/mutate-v1-pod-deny"
	denyLabel = "e2e.kuberos.io/on-missing-secret"
)

// clusterConfig is the --config file of the webhook under test: a cluster-wide registry and
// an entry the Pod's own list overrides in one test. It holds no `default` entry, so that
// image-host matching applies to Pods without annotations.
const clusterConfig = `registries:
  - name: cluster-registry
    imagePullSecretName: cluster-token
    imagePullPolicy: IfNotPresent
  - name: shared
    imagePullSecretName: shared-cluster-token
    imagePullPolicy: Never
`

var (
	testEnv    *envtest.Environment
	restConfig *rest.Config
	kube       *kubernetes.Clientset
	// mutator is the Warn handler, for tests that send it a review of their own.
	mutator admission.Handler
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	// The webhook logs at the highest verbosity into suiteLogs, which a test scans for
	// tokens; they reach stderr only when a test fails.
	// The same redacting sink as the binary's.
	ctrl.SetLogger(logging.Redact(
		zap.New(zap.WriteTo(suiteLogs), zap.Level(zapcore.Level(logLevel())))))

	assets := assetsDir()
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return 0, fmt.Errorf("no kube-apiserver in %s: run `make envtest-assets` first", assets)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			MutatingWebhooks: webhookConfigurations(),
		},
	}
	cfg, err := env.Start()
	if err != nil {
		return 0, fmt.Errorf("failed to start the control plane: %w", err)
	}
	defer func() { _ = env.Stop() }() // the process ends next; nothing to do on failure
	testEnv, restConfig = env, cfg
	kube = kubernetes.NewForConfigOrDie(cfg)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: storeNamespace},
	}, metav1.CreateOptions{})
	if err != nil {
		return 0, fmt.Errorf("failed to create the store namespace: %w", err)
	}

	configFile := filepath.Join(env.WebhookInstallOptions.LocalServingCertDir, "registries.yaml")
	if err := os.WriteFile(configFile, []byte(clusterConfig), 0o600); err != nil {
		return 0, err
	}
	hook := env.WebhookInstallOptions
	mgr, err := server.New(cfg, server.Options{
		TokenNamespace:         storeNamespace,
		ConfigFile:             configFile,
		Host:                   hook.LocalServingHost,
		Port:                   hook.LocalServingPort,
		CertDir:                hook.LocalServingCertDir,
		MetricsBindAddress:     "0",
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return 0, err
	}
	store := token.NewStore(mgr.GetClient(), mgr.GetAPIReader(), storeNamespace)
	mutator = webhook.NewPodMutator(webhook.Options{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Store: store,
	})
	mgr.GetWebhookServer().Register(denyPath, &admission.Webhook{
		Handler: webhook.NewPodMutator(webhook.Options{
			Client:          mgr.GetClient(),
			APIReader:       mgr.GetAPIReader(),
			Store:           store,
			OnMissingSecret: webhook.Deny,
		}),
	})

	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if err := waitForTLS(hook.LocalServingHost, hook.LocalServingPort, 30*time.Second); err != nil {
		return 0, err
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return 0, fmt.Errorf("the manager's cache did not sync")
	}

	code := m.Run()
	if code != 0 {
		dumpLogs()
	}
	if path := os.Getenv("E2E_LOG_FILE"); path != "" {
		if err := os.WriteFile(path, []byte(suiteLogs.String()), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: failed to write E2E_LOG_FILE:", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		return 0, fmt.Errorf("the manager failed: %w", err)
	}
	return code, nil
}

// webhookConfigurations returns the chart's webhook configuration and, for tests of Deny,
// the same webhook with the Deny handler for namespaces labelled denyLabel. envtest rewrites
// their clientConfig to the webhook running in this process, with a generated CA.
func webhookConfigurations() []*admissionregistrationv1.MutatingWebhookConfiguration {
	pods := server.MutatingWebhookConfiguration(server.DefaultConfigurationName, storeNamespace,
		server.DefaultServiceName)

	deny := pods.DeepCopy()
	deny.Name = "kuberos-registry-e2e-deny"
	hook := &deny.Webhooks[0]
	hook.Name = "deny." + hook.Name
	hook.ClientConfig.Service.Path = ptr.To(denyPath)
	hook.NamespaceSelector.MatchExpressions = append(hook.NamespaceSelector.MatchExpressions,
		metav1.LabelSelectorRequirement{
			Key: denyLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{"Deny"},
		})
	return []*admissionregistrationv1.MutatingWebhookConfiguration{pods, deny}
}

// waitForTLS waits until the webhook server answers a TLS handshake.
func waitForTLS(host string, port int, timeout time.Duration) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true,
		func(context.Context) (bool, error) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr,
				&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only probes that it serves
			if err != nil {
				return false, nil //nolint:nilerr // not serving yet: poll again
			}
			return true, conn.Close()
		})
	if err != nil {
		return fmt.Errorf("the webhook did not serve on %s within %s: %w", addr, timeout, err)
	}
	return nil
}

// logLevel is the verbosity of the webhook's logs during tests: E2E_LOG_LEVEL, else the
// highest controller-runtime uses.
func logLevel() int8 {
	if n, err := strconv.ParseInt(os.Getenv("E2E_LOG_LEVEL"), 10, 8); err == nil && n >= 0 {
		return int8(-n)
	}
	return -10
}

// suiteLogs holds everything the in-process webhook and controllers logged.
var suiteLogs = &logBuffer{}

// dumpLogs writes the end of the webhook's logs to stderr, for a failed run.
func dumpLogs() {
	const tail = 64 << 10
	logs := suiteLogs.String()
	if len(logs) > tail {
		logs = logs[len(logs)-tail:]
	}
	fmt.Fprintf(os.Stderr, "--- the last %d bytes of the webhook's logs:\n%s", len(logs), logs)
}
