package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
)

// The no-op webhook is a second floor for pod-throughput: a controller-runtime webhook with
// the same TLS that allows every Pod unchanged. Against it, the cost of any webhook call on
// this machine is told apart from the cost of ours.
const (
	noopConfigurationName = "kuberos-registry-bench-noop"
	// noopLabel selects the namespaces whose Pods go to the no-op webhook.
	noopLabel = "bench.kuberos.io/noop"
	// noopWarning is the warning the no-op webhook returns on dry-run only, so that the
	// benchmark can tell that the API server calls it.
	noopWarning = "bench-noop-called"
)

// serveNoop runs the no-op webhook in this process until ctx ends: the program starts
// itself with -noop-port to get it as a separate process, as the real webhook is.
func serveNoop(ctx context.Context, port int, certDir string) error {
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host: "127.0.0.1", Port: port, CertDir: certDir,
	})
	srv.Register(contract.WebhookPath, &admission.Webhook{Handler: admission.HandlerFunc(
		func(_ context.Context, req admission.Request) admission.Response {
			if req.DryRun != nil && *req.DryRun {
				return admission.Allowed("").WithWarnings(noopWarning)
			}
			return admission.Allowed("")
		})})
	return srv.Start(ctx)
}

// startNoop starts the no-op webhook, registers it for namespaces labelled noopLabel and
// waits until the API server calls it.
func (b *bench) startNoop(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	b.noop, err = startWebhook(self, filepath.Join(b.workDir, "noop.log"), nil,
		"-noop-port", strconv.Itoa(port), "-noop-cert-dir", b.certDir)
	if err != nil {
		return err
	}
	if err := waitTLS(ctx, port); err != nil {
		return fmt.Errorf("%w; logs:\n%s", err, b.noop.tail())
	}

	caBundle, err := os.ReadFile(filepath.Join(b.certDir, "ca.crt"))
	if err != nil {
		return err
	}
	config := server.MutatingWebhookConfiguration(noopConfigurationName, storeNamespace, "")
	hook := &config.Webhooks[0]
	url := fmt.Sprintf("https://127.0.0.1:%d%s", port, contract.WebhookPath)
	hook.Name = "noop.bench.kuberos.io"
	hook.ClientConfig.Service = nil
	hook.ClientConfig.URL = &url
	hook.ClientConfig.CABundle = caBundle
	hook.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{
		noopLabel: "true",
	}}
	_, err = b.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx,
		config, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to register the no-op webhook: %w", err)
	}

	const probe = "bench-probe-noop"
	if err := b.createNamespaceWith(ctx, probe, map[string]string{noopLabel: "true"}); err != nil {
		return err
	}
	pod, err := kuberosPod(0, probe)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			before := b.warnings.noop.Load()
			_, err := b.kube.CoreV1().Pods(probe).Create(ctx, pod,
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err == nil && b.warnings.noop.Load() > before, nil
		})
	if err != nil {
		return fmt.Errorf("the API server never called the no-op webhook: %w", err)
	}
	return nil
}

// waitTLS waits until a TLS server answers on the port of 127.0.0.1.
func waitTLS(ctx context.Context, port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr,
				&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // probes that it serves
			if err != nil {
				return false, nil //nolint:nilerr // not serving yet
			}
			return true, conn.Close()
		})
	if err != nil {
		return fmt.Errorf("nothing served TLS on %s: %w", addr, err)
	}
	return nil
}

// warningCounter drops the API server's warnings (KubeROS Pods carry an empty pull secret
// name, which it warns about on every creation) and counts the no-op webhook's.
type warningCounter struct {
	noop atomic.Int64
}

func (w *warningCounter) HandleWarningHeader(_ int, _ string, text string) {
	if strings.Contains(text, noopWarning) {
		w.noop.Add(1)
	}
}
