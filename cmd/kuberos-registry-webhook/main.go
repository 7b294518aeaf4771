// Command kuberos-registry-webhook serves the Pod admission webhook of kuberos-registry and
// runs its controllers. It only wires flags to the server package.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/logging"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
	"github.com/kuberos-io/kuberos-registry/webhook"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kuberos-registry-webhook:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var (
		opts            server.Options
		onMissingSecret string
		logLevel        string
	)
	// --kubeconfig is registered on the default FlagSet by controller-runtime's config
	// package and read by ctrl.GetConfig.
	fs := flag.CommandLine
	fs.StringVar(&opts.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs",
		"directory holding tls.crt and tls.key; they are reloaded when they change")
	fs.IntVar(&opts.Port, "port", 9443, "port the webhook serves on")
	fs.StringVar(&opts.TokenNamespace, "token-namespace", "",
		"namespace of the token store (default: the namespace it runs in, else "+
			contract.DefaultTokenNamespace+")")
	fs.StringVar(&opts.ConfigFile, "config", "",
		"YAML file with the cluster-wide `registries:` list (default: none)")
	fs.StringVar(&onMissingSecret, "on-missing-secret", string(webhook.Warn),
		"what happens to a Pod whose pull secret exists nowhere: Warn (admit with a warning "+
			"and an Event) or Deny")
	fs.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", ":8080",
		"address of the Prometheus metrics endpoint; 0 turns it off")
	fs.StringVar(&opts.HealthProbeBindAddress, "health-probe-bind-address", ":8081",
		"address of /healthz and /readyz; 0 turns them off")
	fs.BoolVar(&opts.LeaderElect, "leader-elect", false,
		"elect a leader so the controllers run on one replica; every replica serves the webhook")
	fs.DurationVar(&opts.LeaseDuration, "leader-elect-lease-duration",
		server.DefaultLeaseDuration, "how long a lease lasts before another replica may take it")
	fs.DurationVar(&opts.RenewDeadline, "leader-elect-renew-deadline",
		server.DefaultRenewDeadline,
		"how long the leader keeps trying to renew (an API server outage it survives)")
	fs.DurationVar(&opts.RetryPeriod, "leader-elect-retry-period", server.DefaultRetryPeriod,
		"how often leader election is tried")
	fs.StringVar(&logLevel, "log-level", "info",
		"log verbosity: error, info, debug (every Pod decision), or a number (5: every request)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	level, err := parseLogLevel(logLevel)
	if err != nil {
		return err
	}
	// Every logger, client-go's too, goes through the redacting sink: at verbosity 8 and up
	// client-go logs request bodies, which for Secrets hold registry tokens.
	logger := logging.Redact(zap.New(zap.Level(level)))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
	log := ctrl.Log.WithName("setup")

	opts.OnMissingSecret, err = webhook.ParseMissingSecretPolicy(onMissingSecret)
	if err != nil {
		return err
	}
	if opts.TokenNamespace == "" {
		opts.TokenNamespace = server.DefaultTokenNamespace()
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("failed to load a kubeconfig (set --kubeconfig or run in a cluster): %w",
			err)
	}
	mgr, err := server.New(cfg, opts)
	if err != nil {
		return err
	}
	log.Info("starting",
		"apiServer", cfg.Host,
		"webhookPath", contract.WebhookPath,
		"port", opts.Port,
		"certDir", opts.CertDir,
		"tokenNamespace", opts.TokenNamespace,
		"config", opts.ConfigFile,
		"onMissingSecret", opts.OnMissingSecret,
		"metricsBindAddress", opts.MetricsBindAddress,
		"healthProbeBindAddress", opts.HealthProbeBindAddress,
		"leaderElect", opts.LeaderElect,
		"leaseDuration", opts.LeaseDuration,
		"renewDeadline", opts.RenewDeadline,
		"logLevel", logLevel)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// parseLogLevel maps --log-level to a zap level: controller-runtime logs V(n) at zap level -n.
func parseLogLevel(value string) (zapcore.Level, error) {
	switch value {
	case "error":
		return zapcore.ErrorLevel, nil
	case "info":
		return zapcore.InfoLevel, nil
	case "debug":
		return zapcore.DebugLevel, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 || n > 10 {
		return 0, fmt.Errorf("invalid --log-level %q: use error, info, debug or a number 0 to 10",
			value)
	}
	return zapcore.Level(-n), nil
}
