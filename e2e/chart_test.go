package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/action"
	helmkube "helm.sh/helm/v4/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/chart"
	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// TestChartInstall installs the chart through the Helm SDK into a control plane of its own,
// lets cert-manager's controllers issue the chart's certificates and inject its CA, and
// admits KubeROS Pods through the chart's own webhook configuration and Service: the API
// server resolves the Service to an EndpointSlice (--enable-aggregator-routing) that points
// at the webhook binary running on this host with the certificate cert-manager issued.
func TestChartInstall(t *testing.T) {
	ctx := context.Background()
	certManager := filepath.Join("..", "bin", "cert-manager-controllers")
	_, err := os.Stat(certManager)
	require.NoError(t, err, "run `make cert-manager` first")
	hostIP := nonLoopbackIPv4(t)

	env := &envtest.Environment{
		BinaryAssetsDirectory: assetsDir(),
		CRDDirectoryPaths:     []string{certManagerCRDs(t)},
		ErrorIfCRDPathMissing: true,
	}
	// The API server calls a webhook Service through its endpoints, not its cluster IP,
	// which nothing routes here.
	env.ControlPlane.GetAPIServer().Configure().Set("enable-aggregator-routing", "true")
	cfg, err := env.Start()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, env.Stop()) })
	cs := kubernetes.NewForConfigOrDie(cfg)
	kubeconfig := kubeconfigFor(t, env, envtest.User{Name: "chart-admin",
		Groups: []string{"system:masters"}})
	release := chart.ReleaseName
	ns := chart.ReleaseNamespace
	// The webhook runs as the chart's service account, so that the chart's RBAC, not an
	// administrator's rights, is what lets it work.
	serviceAccount := kubeconfigFor(t, env, envtest.User{
		Name:   "system:serviceaccount:" + ns + ":" + release,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns},
	})

	t.Run("the chart installs through the Helm SDK and the API server accepts every object",
		func(t *testing.T) {
			helmInstall(t, kubeconfig, release, ns)
			direct, err := client.New(cfg, client.Options{})
			require.NoError(t, err)
			rendered, err := chart.Render(nil, release, ns)
			require.NoError(t, err)
			count := 0
			for file, text := range rendered {
				for _, doc := range strings.Split(text, "\n---") {
					obj := &unstructured.Unstructured{}
					require.NoError(t, yaml.Unmarshal([]byte(doc), &obj.Object))
					if len(obj.Object) == 0 {
						continue
					}
					if obj.GetNamespace() == "" && !isClusterScoped(obj.GetKind()) {
						obj.SetNamespace(ns)
					}
					got := obj.DeepCopy()
					require.NoError(t, direct.Get(ctx, client.ObjectKeyFromObject(obj), got),
						"%s: %s %s", file, obj.GetKind(), obj.GetName())
					count++
				}
			}
			t.Logf("%d objects of the chart are in the API server", count)
		})

	servingSecret := release + "-serving-cert"
	t.Run("cert-manager issues the serving certificate and injects the chart's CA",
		func(t *testing.T) {
			start := time.Now()
			startBinary(t, certManager, "--kubeconfig", kubeconfig, "--namespace", ns)
			var serving *corev1.Secret
			require.Eventually(t, func() bool {
				serving, err = cs.CoreV1().Secrets(ns).Get(ctx, servingSecret, metav1.GetOptions{})
				return err == nil && len(serving.Data["tls.crt"]) > 0
			}, 2*time.Minute, 100*time.Millisecond, "the serving certificate was never issued")
			issued := time.Since(start)
			require.Eventually(t, func() bool {
				hook, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(
					ctx, release, metav1.GetOptions{})
				return err == nil && len(hook.Webhooks[0].ClientConfig.CABundle) > 0 &&
					bytes.Equal(hook.Webhooks[0].ClientConfig.CABundle, serving.Data["ca.crt"])
			}, 2*time.Minute, 100*time.Millisecond, "the CA was never injected")
			t.Logf("certificate issued after %s, CA injected after %s",
				issued.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		})

	t.Run("KubeROS Pods are admitted through the chart's webhook configuration and Service",
		func(t *testing.T) {
			serving, err := cs.CoreV1().Secrets(ns).Get(ctx, servingSecret, metav1.GetOptions{})
			require.NoError(t, err)
			certDir := t.TempDir()
			for _, name := range []string{"tls.crt", "tls.key"} {
				require.NoError(t, os.WriteFile(filepath.Join(certDir, name),
					serving.Data[name], 0o600))
			}
			port, health := freePort(t), freePort(t)
			logs := startBinary(t, webhookBinary(t), "--kubeconfig", serviceAccount,
				"--leader-elect",
				"--cert-dir", certDir, "--port", strconv.Itoa(port),
				"--token-namespace", ns, "--metrics-bind-address", "0",
				"--health-probe-bind-address", "127.0.0.1:"+strconv.Itoa(health))
			ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", health)
			require.Eventually(t, func() bool { return httpStatus(ready) == http.StatusOK },
				eventually, 50*time.Millisecond, "the webhook never got ready:\n%s", logs)
			// freePort returns a TCP port, which fits in int32.
			servicePort := int32(port) //nolint:gosec // see above
			routeServiceTo(t, cs, ns, release+"-webhook", hostIP, servicePort)

			lab := storeToken(t, cs, ns, "lab-registry-token", "registry.lab.example:5050")
			planning := storeToken(t, cs, ns, "planning-registry-token",
				"planning.example.org/robotics")
			_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: kuberos.DefaultNamespace,
					Annotations: map[string]string{contract.Inject: contract.InjectEnabled}},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				got, err := cs.CoreV1().Namespaces().Get(ctx, kuberos.DefaultNamespace,
					metav1.GetOptions{})
				return err == nil && got.Labels[contract.Inject] == contract.InjectEnabled
			}, eventually, 20*time.Millisecond, "the webhook's controller never set the label")

			manifest, err := kuberos.ReadManifest(
				filepath.Join("testdata", "kuberos", "pick-and-place.deployment.yaml"))
			require.NoError(t, err)
			pods, err := manifest.Pods(kuberos.DefaultNamespace)
			require.NoError(t, err)
			want := map[string]*corev1.Secret{
				"camera-driver": lab, "grasp-planner": planning, "task-monitor": lab,
			}
			for _, p := range pods {
				created, err := cs.CoreV1().Pods(kuberos.DefaultNamespace).Create(ctx, p,
					metav1.CreateOptions{})
				require.NoError(t, err)
				secret := want[p.Spec.Containers[0].Name]
				assert.Equal(t, []corev1.LocalObjectReference{{Name: secret.Name}},
					created.Spec.ImagePullSecrets, p.Name)
				assert.NotEmpty(t, created.Annotations[contract.Injected], p.Name)
				copied, err := cs.CoreV1().Secrets(kuberos.DefaultNamespace).Get(ctx,
					secret.Name, metav1.GetOptions{})
				require.NoError(t, err, "the copy exists when the create call returns")
				assert.Equal(t, secret.Data, copied.Data)
			}
			assert.Empty(t, logs.lines("forbidden"),
				"the chart's RBAC refused the webhook something")
		})
}

// helmInstall installs the chart with its defaults, as `helm install` does.
func helmInstall(t *testing.T, kubeconfig, release, namespace string) {
	t.Helper()
	c, err := chart.Load()
	require.NoError(t, err)
	getter := genericclioptions.NewConfigFlags(false)
	getter.KubeConfig = ptr.To(kubeconfig)
	getter.Namespace = ptr.To(namespace)
	config := action.NewConfiguration()
	require.NoError(t, config.Init(getter, namespace, "secret"))
	install := action.NewInstall(config)
	install.ReleaseName = release
	install.Namespace = namespace
	install.CreateNamespace = true
	// Helm v4 needs a wait strategy; nothing runs the chart's Pods here, so wait for none.
	install.WaitStrategy = helmkube.HookOnlyStrategy
	install.Timeout = 2 * time.Minute
	_, err = install.RunWithContext(context.Background(), c, nil)
	require.NoError(t, err)
}

// routeServiceTo points the Service at the webhook on this host with an EndpointSlice, as
// the endpoints controller would for a ready Pod.
func routeServiceTo(t *testing.T, cs kubernetes.Interface, ns, service, ip string, port int32) {
	t.Helper()
	_, err := cs.DiscoveryV1().EndpointSlices(ns).Create(context.Background(),
		&discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:   service + "-test-host",
				Labels: map[string]string{discoveryv1.LabelServiceName: service},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{ip},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			}},
			Ports: []discoveryv1.EndpointPort{{
				Name: ptr.To("webhook"), Port: ptr.To(port),
				Protocol: ptr.To(corev1.ProtocolTCP),
			}},
		}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func storeToken(t *testing.T, cs kubernetes.Interface, ns, name, url string) *corev1.Secret {
	t.Helper()
	password := name + "-chart-password"
	rememberSecret(password)
	secret, err := token.NewSecret(token.Spec{Name: name, RegistryURL: url,
		UserName: "robot", Token: password}, ns)
	require.NoError(t, err)
	created, err := cs.CoreV1().Secrets(ns).Create(context.Background(), secret,
		metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// nonLoopbackIPv4 is an address of this host the API server can dial and an EndpointSlice
// may hold (loopback addresses are refused in endpoints).
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, addr := range addrs {
		if ipnet, ok := addr.(*net.IPNet); ok && !ipnet.IP.IsLoopback() &&
			!ipnet.IP.IsLinkLocalUnicast() && ipnet.IP.To4() != nil {
			return ipnet.IP.String()
		}
	}
	require.Fail(t, "this host has no non-loopback IPv4 address for the EndpointSlice")
	return ""
}

// certManagerCRDs is deploy/crds of the cert-manager module that hack/certmanager pins.
func certManagerCRDs(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}",
		"github.com/cert-manager/cert-manager")
	cmd.Dir = filepath.Join("..", "hack", "certmanager")
	out, err := cmd.Output()
	require.NoError(t, err, "go list of the cert-manager module")
	return filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
}

func kubeconfigFor(t *testing.T, env *envtest.Environment, u envtest.User) string {
	t.Helper()
	user, err := env.AddUser(u, nil)
	require.NoError(t, err)
	data, err := user.KubeConfig()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kubeconfig-"+strings.ReplaceAll(u.Name, ":", "-"))
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func isClusterScoped(kind string) bool {
	switch kind {
	case "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "Namespace":
		return true
	}
	return false
}

var (
	webhookBinaryOnce sync.Once
	webhookBinaryPath string
	webhookBinaryErr  error
)

// webhookBinary builds cmd/kuberos-registry-webhook once per test run.
func webhookBinary(t *testing.T) string {
	t.Helper()
	webhookBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kuberos-registry-webhook-")
		if err != nil {
			webhookBinaryErr = err
			return
		}
		webhookBinaryPath = filepath.Join(dir, "kuberos-registry-webhook")
		out, err := exec.Command("go", "build", "-o", webhookBinaryPath,
			"../cmd/kuberos-registry-webhook").CombinedOutput()
		if err != nil {
			webhookBinaryErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, webhookBinaryErr)
	return webhookBinaryPath
}

// assetsDir is where `make envtest-assets` puts the control plane.
func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "bin", "k8s")
}
