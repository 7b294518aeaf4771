package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// Names of what the benchmark stores.
const (
	storeNamespace = contract.DefaultTokenNamespace
	// podToken is the token KubeROS-shaped Pods name in their containerRegistry list.
	podToken = "bench-token"
	// poolToken has one copy in each namespace of the pool, for memory-10k.
	poolToken = "bench-pool"
	// rotateToken is rotated in rotation-1000.
	rotateToken = "bench-rotate"
	// registryHost is the registry every bench token opens; it is never contacted.
	registryHost = "registry.bench.example"
	// configurationName names the MutatingWebhookConfiguration the benchmark registers.
	configurationName = "kuberos-registry-bench"
)

// bench is the running system: the control plane, a client with no client-side rate limit,
// and the webhook binary with its serving certificate, port and kubeconfig.
type bench struct {
	root    string
	workDir string
	env     *envtest.Environment
	// cfg is the administrator's configuration as envtest made it; kube has no rate limit.
	cfg  *rest.Config
	kube *kubernetes.Clientset

	binary     string
	kubeconfig string
	certDir    string
	port       int
	healthPort int
	hook       *webhookProcess
	starts     int
	// noop is the no-op webhook, started by the first measure that needs it.
	noop     *webhookProcess
	warnings *warningCounter

	// pool is how many namespaces of the pool exist.
	pool int
}

// startBench starts the control plane, builds and starts the webhook binary, stores the
// tokens, registers the webhook configuration and waits until Pods are mutated.
func startBench(ctx context.Context, root string) (*bench, error) {
	workDir, err := os.MkdirTemp("", "kuberos-registry-scale-")
	if err != nil {
		return nil, err
	}
	b := &bench{root: root, workDir: workDir, certDir: filepath.Join(workDir, "certs")}

	built := make(chan error, 1)
	go func() { built <- b.build(ctx) }()

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s")
	}
	//nolint:gosec // KUBEBUILDER_ASSETS names the control plane on purpose
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("no kube-apiserver in %s: run `make envtest-assets` first", assets)
	}
	b.env = &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := b.env.Start()
	if err != nil {
		return nil, fmt.Errorf("failed to start the control plane: %w", err)
	}
	b.cfg = rest.CopyConfig(cfg)
	// No client-side rate limit, and protobuf, which costs the API server least: the
	// benchmark measures the server and the webhook, not this client.
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	b.warnings = &warningCounter{}
	cfg.WarningHandler = b.warnings
	b.kube, err = kubernetes.NewForConfig(cfg)
	if err != nil {
		b.stop()
		return nil, err
	}

	if err := b.setUp(ctx); err != nil {
		b.stop()
		return nil, err
	}
	if err := <-built; err != nil {
		b.stop()
		return nil, err
	}
	if err := b.restartWebhook(ctx); err != nil {
		b.stop()
		return nil, err
	}
	if err := b.registerWebhook(ctx); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// build compiles the webhook binary as users get it.
func (b *bench) build(ctx context.Context) error {
	b.binary = filepath.Join(b.workDir, "kuberos-registry-webhook")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.binary, //nolint:gosec // our temp dir
		"./cmd/kuberos-registry-webhook")
	cmd.Dir = b.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build the webhook binary: %w: %s", err, out)
	}
	return nil
}

// setUp writes the kubeconfig and the serving certificate, picks the ports and stores the
// store namespace and the tokens.
func (b *bench) setUp(ctx context.Context) error {
	user, err := b.env.AddUser(envtest.User{
		Name: "kuberos-registry-webhook", Groups: []string{"system:masters"},
	}, nil)
	if err != nil {
		return fmt.Errorf("failed to add the webhook's user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	b.kubeconfig = filepath.Join(b.workDir, "kubeconfig")
	if err := os.WriteFile(b.kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}
	if err := writeServingCert(b.certDir); err != nil {
		return err
	}
	if b.port, err = freePort(); err != nil {
		return err
	}
	if b.healthPort, err = freePort(); err != nil {
		return err
	}

	if err := b.createNamespace(ctx, storeNamespace, false); err != nil {
		return err
	}
	for _, name := range []string{podToken, poolToken, rotateToken} {
		if _, err := b.createToken(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// registerWebhook registers the chart's webhook configuration, pointed at the binary, and
// waits until the API server calls it: a dry-run Pod in an opted-in namespace comes back
// with its pull secret.
func (b *bench) registerWebhook(ctx context.Context) error {
	caBundle, err := os.ReadFile(filepath.Join(b.certDir, "ca.crt"))
	if err != nil {
		return err
	}
	config := server.MutatingWebhookConfiguration(configurationName, storeNamespace, "unused")
	url := fmt.Sprintf("https://127.0.0.1:%d%s", b.port, contract.WebhookPath)
	config.Webhooks[0].ClientConfig.Service = nil
	config.Webhooks[0].ClientConfig.URL = &url
	config.Webhooks[0].ClientConfig.CABundle = caBundle
	_, err = b.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx,
		config, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to register the webhook configuration: %w", err)
	}

	const probe = "bench-probe"
	if err := b.createNamespace(ctx, probe, true); err != nil {
		return err
	}
	pod, err := kuberosPod(0, probe)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			created, err := b.kube.CoreV1().Pods(probe).Create(ctx, pod,
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err == nil && isMutated(created), nil
		})
	if err != nil {
		return fmt.Errorf("the API server never called the webhook: %w; webhook logs:\n%s",
			err, b.hook.tail())
	}
	return nil
}

// restartWebhook stops the running binary, if any, and starts a fresh one on the same port
// and certificate, with the environment variables given added to this program's, then waits
// until it is ready.
func (b *bench) restartWebhook(ctx context.Context, env ...string) error {
	if b.hook != nil {
		b.hook.stop()
		b.hook = nil
	}
	b.starts++
	hook, err := startWebhook(b.binary, filepath.Join(b.workDir,
		fmt.Sprintf("webhook-%d.log", b.starts)), env,
		"--kubeconfig", b.kubeconfig,
		"--cert-dir", b.certDir,
		"--port", strconv.Itoa(b.port),
		"--token-namespace", storeNamespace,
		"--leader-elect=false",
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "127.0.0.1:"+strconv.Itoa(b.healthPort))
	if err != nil {
		return err
	}
	b.hook = hook
	return hook.waitReady(ctx, b.healthPort, time.Minute)
}

func (b *bench) stop() {
	for _, p := range []*webhookProcess{b.hook, b.noop} {
		if p != nil {
			p.stop()
		}
	}
	if b.env != nil {
		_ = b.env.Stop() // the program ends next; a control plane that lingers is killed
	}
	_ = os.RemoveAll(b.workDir) // temporary files only
}

// createNamespace creates the namespace; an opted-in one carries the annotation and the
// label, so that the webhook serves it without waiting for the namespace controller.
func (b *bench) createNamespace(ctx context.Context, name string, optedIn bool) error {
	if !optedIn {
		return b.createNamespaceWith(ctx, name, nil)
	}
	return b.createNamespaceWith(ctx, name, map[string]string{
		contract.Inject: contract.InjectEnabled,
	})
}

// createNamespaceWith creates the namespace with the labels; the inject label comes with
// its annotation. A namespace that exists already is left alone.
func (b *bench) createNamespaceWith(
	ctx context.Context,
	name string,
	labels map[string]string,
) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if value, ok := labels[contract.Inject]; ok {
		ns.Annotations = map[string]string{contract.Inject: value}
	}
	_, err := b.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", name, err)
	}
	return nil
}

// createNamespaces creates count opted-in (or not) namespaces named prefix-NN, in parallel.
func (b *bench) createNamespaces(
	ctx context.Context,
	prefix string,
	count int,
	optedIn bool,
) ([]string, error) {
	names := make([]string, count)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	failures, err := parallel(ctx, count, 16, func(ctx context.Context, i int) error {
		return b.createNamespace(ctx, names[i], optedIn)
	})
	if failures > 0 {
		return nil, fmt.Errorf("%d namespaces not created: %w", failures, err)
	}
	return names, nil
}

// createToken stores a registry token with a random password.
func (b *bench) createToken(ctx context.Context, name string) (*corev1.Secret, error) {
	data, err := dockerConfig()
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   storeNamespace,
			Labels:      contract.TokenLabels(),
			Annotations: map[string]string{contract.RegistryURL: registryHost},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
	created, err := b.kube.CoreV1().Secrets(storeNamespace).Create(ctx, secret,
		metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to store token %s: %w", name, err)
	}
	return created, nil
}

// dockerConfig returns a dockerconfigjson for the bench registry with a fresh random
// password, so that each rotation changes the data.
func dockerConfig() ([]byte, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	password := hex.EncodeToString(secret)
	return json.Marshal(map[string]any{"auths": map[string]any{
		registryHost: map[string]string{
			"username": "robot",
			"password": password,
			"auth":     base64.StdEncoding.EncodeToString([]byte("robot:" + password)),
		},
	}})
}

// poolName is the name of the i-th namespace of the pool.
func poolName(i int) string { return fmt.Sprintf("bench-pool-%05d", i) }

// ensurePool creates the opted-in namespaces of the pool up to count.
func (b *bench) ensurePool(ctx context.Context, count int) error {
	if count <= b.pool {
		return nil
	}
	from := b.pool
	failures, err := parallel(ctx, count-from, 16, func(ctx context.Context, i int) error {
		return b.createNamespace(ctx, poolName(from+i), true)
	})
	if failures > 0 {
		return fmt.Errorf("%d namespaces of the pool not created: %w", failures, err)
	}
	b.pool = count
	return nil
}

// fillCopies makes sure the first count pool namespaces exist and each holds a copy of the
// named token, as the webhook would have made it, and returns the token.
func (b *bench) fillCopies(
	ctx context.Context,
	count int,
	tokenName string,
) (*corev1.Secret, error) {
	if err := b.ensurePool(ctx, count); err != nil {
		return nil, err
	}
	source, err := b.kube.CoreV1().Secrets(storeNamespace).Get(ctx, tokenName,
		metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	err = b.createSecrets(ctx, count, func(ns string) *corev1.Secret {
		return token.NewCopy(source, ns)
	})
	return source, err
}

// createSecrets creates one Secret built by build in each of the first count namespaces of
// the pool; a Secret that exists already is left alone.
func (b *bench) createSecrets(
	ctx context.Context,
	count int,
	build func(namespace string) *corev1.Secret,
) error {
	failures, err := parallel(ctx, count, 16, func(ctx context.Context, i int) error {
		secret := build(poolName(i))
		_, err := b.kube.CoreV1().Secrets(secret.Namespace).Create(ctx, secret,
			metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if failures > 0 {
		return fmt.Errorf("%d Secrets not created: %w", failures, err)
	}
	return nil
}

// countCopies counts the copies of the token in the namespaces given, or in all when nil.
func (b *bench) countCopies(
	ctx context.Context,
	tokenName string,
	namespaces map[string]bool,
) (int, error) {
	list, err := b.kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		LabelSelector: labelSelector(contract.MirrorLabels(tokenName)),
	})
	if err != nil {
		return 0, fmt.Errorf("failed to list the copies of %s: %w", tokenName, err)
	}
	count := 0
	for _, secret := range list.Items {
		if namespaces == nil || namespaces[secret.Namespace] {
			count++
		}
	}
	return count, nil
}

// countObjects counts namespaces and the Secrets the system owns, in pages.
func (b *bench) countObjects(ctx context.Context) (namespaces, owned int, err error) {
	opts := metav1.ListOptions{Limit: 1000}
	for {
		list, err := b.kube.CoreV1().Namespaces().List(ctx, opts)
		if err != nil {
			return 0, 0, err
		}
		namespaces += len(list.Items)
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	opts = metav1.ListOptions{Limit: 1000, LabelSelector: contract.ManagedBy + "=" +
		contract.ManagedByValue}
	for {
		list, err := b.kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return 0, 0, err
		}
		owned += len(list.Items)
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	return namespaces, owned, nil
}

func labelSelector(labels map[string]string) string {
	return metav1.FormatLabelSelector(metav1.SetAsLabelSelector(labels))
}
