// Command demo runs the main job of kuberos-registry on a local control plane: it starts
// kube-apiserver and etcd, runs the webhook and its controllers, stores two registry tokens,
// opts a namespace in, creates the Pods of a KubeROS hello-world deployment, and prints what
// the webhook changed in each Pod and which Secrets it copied. It stops everything it started
// when it ends, also on Ctrl-C.
package main

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.uber.org/zap/zapcore"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
)

//go:embed hello-world.deployment.yaml
var manifestYAML []byte

// tokens are the registry tokens the demo stores, as `token create` would.
var tokens = []struct{ name, url string }{
	{"kuberos-registry-token-default", "registry.example.com"},
	{"second-registry-token", "registry.example.com:5050/team"},
}

const storeNamespace = contract.DefaultTokenNamespace

func main() {
	if err := run(); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := os.Stdout
	// The webhook's own logs would drown the tables: only errors reach the terminal.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapErrorLevel)))

	manifest, err := kuberos.ParseManifest(manifestYAML)
	if err != nil {
		return err
	}

	step(out, "starting kube-apiserver and etcd from bin/k8s")
	env := &envtest.Environment{
		BinaryAssetsDirectory: assetsDir(),
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			MutatingWebhooks: []*admissionregistrationv1.MutatingWebhookConfiguration{
				server.MutatingWebhookConfiguration(server.DefaultConfigurationName, storeNamespace,
					server.DefaultServiceName),
			},
		},
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("failed to start the control plane (run `make envtest-assets`): %w",
			err)
	}
	defer func() {
		step(out, "stopping the webhook and the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: failed to stop the control plane:", err)
		}
	}()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	step(out, "starting the webhook and its controllers")
	if err := createNamespace(ctx, kube, storeNamespace, false); err != nil {
		return err
	}
	hook := env.WebhookInstallOptions
	mgr, err := server.New(cfg, server.Options{
		TokenNamespace:         storeNamespace,
		Host:                   hook.LocalServingHost,
		Port:                   hook.LocalServingPort,
		CertDir:                hook.LocalServingCertDir,
		MetricsBindAddress:     "0",
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return err
	}
	mgrCtx, stopManager := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	defer func() {
		stopManager()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "demo: the webhook stopped with an error:", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return errors.New("the webhook's cache did not sync")
	}

	step(out, "storing the registry tokens in namespace "+storeNamespace)
	for _, t := range tokens {
		if err := createToken(ctx, kube, t.name, t.url); err != nil {
			return err
		}
	}

	namespace := kuberos.DefaultNamespace
	step(out, "opting namespace "+namespace+" in with the annotation "+
		contract.Inject+"="+contract.InjectEnabled)
	if err := createNamespace(ctx, kube, namespace, true); err != nil {
		return err
	}
	if err := waitForLabel(ctx, kube, namespace); err != nil {
		return err
	}

	step(out, "creating the Pods of KubeROS deployment "+manifest.Metadata.Name+
		" as KubeROS builds them")
	pods, err := manifest.Pods(namespace)
	if err != nil {
		return err
	}
	var rows []row
	for _, p := range pods {
		created, err := kube.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("failed to create Pod %s: %w", p.Name, err)
		}
		rows = append(rows, describe(p, created)...)
	}

	fmt.Fprintln(out)
	printPods(out, rows)
	fmt.Fprintln(out)
	return printCopies(ctx, out, kube, namespace)
}

// zapErrorLevel is zap's error level; controller-runtime's zap takes it as an enabler.
const zapErrorLevel = zapLevel(2)

func step(out io.Writer, message string) {
	fmt.Fprintf(out, "==> %s\n", message)
}

// assetsDir is where `make envtest-assets` puts the control plane.
func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join("bin", "k8s")
}

func createNamespace(
	ctx context.Context,
	kube kubernetes.Interface,
	name string,
	optIn bool,
) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if optIn {
		ns.Annotations = map[string]string{contract.Inject: contract.InjectEnabled}
	}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to create namespace %s: %w", name, err)
	}
	return nil
}

// waitForLabel waits until the controller has copied the annotation to the label the
// webhook configuration selects on.
func waitForLabel(ctx context.Context, kube kubernetes.Interface, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			ns, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return ns.Labels[contract.Inject] == contract.InjectEnabled, nil
		})
	if err != nil {
		return fmt.Errorf("the controller did not label namespace %s: %w", name, err)
	}
	return nil
}

// createToken stores a token Secret of the contract. The password is a placeholder: the
// demo talks to no registry.
func createToken(ctx context.Context, kube kubernetes.Interface, name, url string) error {
	const user, password = "robot-ci", "demo-password"
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	config, err := json.Marshal(map[string]any{"auths": map[string]any{
		url: map[string]string{"username": user, "password": password, "auth": auth},
	}})
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: storeNamespace,
			Labels:    contract.TokenLabels(),
			Annotations: map[string]string{
				contract.RegistryURL: url,
				contract.UserName:    user,
				contract.Description: "demo token",
			},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: config},
	}
	_, err = kube.CoreV1().Secrets(storeNamespace).Create(ctx, secret, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to store token %s: %w", name, err)
	}
	return nil
}

// row is one container of one Pod, before and after admission.
type row struct {
	pod, container, image, registry         string
	secretsBefore, secretsAfter             string
	policyBefore, policyAfter, injectedNote string
}

func describe(before, after *corev1.Pod) []row {
	names, _ := registry.ParseNames(before.Annotations[contract.ContainerRegistryName])
	var rows []row
	for i, c := range before.Spec.Containers {
		name, _ := names.For(c.Name)
		rows = append(rows, row{
			pod:           after.Name,
			container:     c.Name,
			image:         c.Image,
			registry:      name,
			secretsBefore: secretList(before.Spec.ImagePullSecrets),
			secretsAfter:  secretList(after.Spec.ImagePullSecrets),
			policyBefore:  string(c.ImagePullPolicy),
			policyAfter:   string(after.Spec.Containers[i].ImagePullPolicy),
			injectedNote:  after.Annotations[contract.Injected],
		})
	}
	return rows
}

func secretList(refs []corev1.LocalObjectReference) string {
	names := make([]string, len(refs))
	for i, ref := range refs {
		names[i] = fmt.Sprintf("%q", ref.Name)
	}
	return "[" + strings.Join(names, ",") + "]"
}

func printPods(out io.Writer, rows []row) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POD\tCONTAINER\tIMAGE\tREGISTRY\tPULL SECRETS\tPULL POLICY\tINJECTED")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s -> %s\t%s -> %s\t%s\n",
			r.pod, r.container, r.image, r.registry,
			r.secretsBefore, r.secretsAfter, r.policyBefore, r.policyAfter, r.injectedNote)
	}
	_ = w.Flush() // a terminal write that fails has nowhere to be reported
}

func printCopies(ctx context.Context, out io.Writer, kube kubernetes.Interface, ns string) error {
	list, err := kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{
		LabelSelector: contract.Role + "=" + contract.RoleMirror,
	})
	if err != nil {
		return fmt.Errorf("failed to list the copies in %s: %w", ns, err)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "SECRETS COPIED INTO %s\tFROM TOKEN\tTYPE\tREGISTRY\n", ns)
	for _, s := range list.Items {
		fmt.Fprintf(w, "%s\t%s/%s\t%s\t%s\n", s.Name, storeNamespace,
			s.Labels[contract.Token], s.Type, s.Annotations[contract.RegistryURL])
	}
	return w.Flush()
}

type zapLevel int8

// Enabled reports whether a zap level is logged: errors and worse.
func (l zapLevel) Enabled(level zapcore.Level) bool { return level >= zapcore.Level(l) }
