package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/server"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// faultCluster is a control plane of a fault test's own, with a CA whose serving
// certificates the webhook binaries of the test present.
type faultCluster struct {
	env           *envtest.Environment
	apiServerLogs *logBuffer
	cs            *kubernetes.Clientset
	kubeconfig    string
	ca            *testCA
	// certDir is the --cert-dir of every webhook binary of the test.
	certDir string
}

// newFaultCluster starts a control plane with the store namespace, and writes a serving
// certificate for 127.0.0.1 signed by a CA of the test.
func newFaultCluster(t *testing.T) *faultCluster {
	t.Helper()
	env := &envtest.Environment{BinaryAssetsDirectory: assetsDir()}
	// A certificate directory of the test's own is not deleted when the API server stops, so
	// a restarted API server serves the same certificate on the same port, and every client
	// of the first start still trusts it (envtest regenerates a directory it created).
	apiServerLogs := &logBuffer{}
	env.ControlPlane.APIServer = &envtest.APIServer{CertDir: t.TempDir(), Out: apiServerLogs,
		Err: apiServerLogs}
	// Without a grace period for watches, a stopping API server waits for the watches of
	// the webhook's informers to end, longer than envtest waits for it to stop.
	env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	cfg, err := env.Start()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, env.Stop()) })

	c := &faultCluster{
		env:           env,
		apiServerLogs: apiServerLogs,
		cs:            kubernetes.NewForConfigOrDie(cfg),
		kubeconfig: kubeconfigFor(t, env,
			envtest.User{Name: "fault-admin", Groups: []string{"system:masters"}}),
		ca:      newTestCA(t),
		certDir: t.TempDir(),
	}
	c.ca.writeServingCert(t, c.certDir)
	_, err = c.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: storeNamespace},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return c
}

// storeToken stores a registry token of the contract in the store namespace.
func (c *faultCluster) storeToken(t *testing.T, name, registryURL, password string) *corev1.Secret {
	t.Helper()
	secret, err := token.NewSecret(token.Spec{
		Name:        name,
		RegistryURL: registryURL,
		UserName:    "robot",
		Token:       password,
		Description: "a token of the fault tests",
	}, storeNamespace)
	require.NoError(t, err)
	created, err := c.cs.CoreV1().Secrets(storeNamespace).Create(context.Background(), secret,
		metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// rotateToken gives the token a new password and returns the token as stored.
func (c *faultCluster) rotateToken(
	t *testing.T,
	tok *corev1.Secret,
	password string,
) *corev1.Secret {
	t.Helper()
	config, err := token.DockerConfigJSON(tok.Annotations[contract.RegistryURL], "robot", password)
	require.NoError(t, err)
	updated := tok.DeepCopy()
	updated.Data = map[string][]byte{corev1.DockerConfigJsonKey: config}
	stored, err := c.cs.CoreV1().Secrets(storeNamespace).Update(context.Background(), updated,
		metav1.UpdateOptions{})
	require.NoError(t, err)
	return stored
}

// optedInNamespaces creates namespaces that carry both the opt-in annotation and the label
// the webhook configuration selects on, so that no controller has to act before Pods
// reach the webhook.
func (c *faultCluster) optedInNamespaces(t *testing.T, prefix string, n int) []string {
	t.Helper()
	names := make([]string, n)
	errs := make([]error, n)
	inParallel(n, 10, func(i int) {
		ns, err := c.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: prefix + "-",
				Annotations:  map[string]string{contract.Inject: contract.InjectEnabled},
				Labels:       map[string]string{contract.Inject: contract.InjectEnabled},
			},
		}, metav1.CreateOptions{})
		if err == nil {
			names[i] = ns.Name
		}
		errs[i] = err
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	return names
}

// registerWebhook registers the chart's webhook configuration, pointed at the binary on
// 127.0.0.1:port and trusting the test's CA, and waits until the API server calls it: a
// Pod of a namespace of its own comes back mutated.
func (c *faultCluster) registerWebhook(t *testing.T, port int, tok *corev1.Secret) {
	t.Helper()
	ctx := context.Background()
	config := server.MutatingWebhookConfiguration("kuberos-registry-faults", storeNamespace,
		server.DefaultServiceName)
	url := fmt.Sprintf("https://127.0.0.1:%d%s", port, contract.WebhookPath)
	config.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{
		URL: &url, CABundle: c.ca.certPEM,
	}
	_, err := c.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, config,
		metav1.CreateOptions{})
	require.NoError(t, err)

	// Pods created before the API server sees the configuration are admitted as they are:
	// they stay in this namespace, away from the ones the test checks.
	probe := c.optedInNamespaces(t, "probe", 1)[0]
	attempt := 0
	require.Eventually(t, func() bool {
		attempt++
		created, err := c.cs.CoreV1().Pods(probe).Create(ctx,
			registryPod(fmt.Sprintf("probe-%d", attempt), tok.Name), metav1.CreateOptions{})
		return err == nil && mutationProblem(created, tok.Name) == ""
	}, eventually, 50*time.Millisecond, "the API server never called the webhook")
}

// mutationProblem says what is wrong with a Pod built by registryPod once the webhook
// admitted it, or "" when it carries exactly the token, the pull policy and the annotation.
func mutationProblem(p *corev1.Pod, tokenName string) string {
	if got := pullSecretNames(p); !slices.Equal(got, []string{tokenName}) {
		return fmt.Sprintf("Pod %s/%s pulls with %v, want [%s]", p.Namespace, p.Name, got,
			tokenName)
	}
	for _, container := range p.Spec.Containers {
		if container.ImagePullPolicy != corev1.PullAlways {
			return fmt.Sprintf("Pod %s/%s: container %s has pull policy %q, want Always",
				p.Namespace, p.Name, container.Name, container.ImagePullPolicy)
		}
	}
	if got := p.Annotations[contract.Injected]; got != "main=default" {
		return fmt.Sprintf("Pod %s/%s: annotation %s is %q, want main=default", p.Namespace,
			p.Name, contract.Injected, got)
	}
	return ""
}

// copyProblem says what is wrong with the copy of the token in the namespace, or "" when
// it exists with the token's data and the copy labels.
func (c *faultCluster) copyProblem(namespace string, tok *corev1.Secret) string {
	copied, err := c.cs.CoreV1().Secrets(namespace).Get(context.Background(), tok.Name,
		metav1.GetOptions{})
	switch {
	case err != nil:
		return fmt.Sprintf("no copy of %s in %s: %v", tok.Name, namespace, err)
	case !token.IsCopy(copied):
		return fmt.Sprintf("Secret %s/%s is not labelled as a copy", namespace, tok.Name)
	case !isSameData(copied, tok):
		return fmt.Sprintf("the copy in %s does not hold the token's data", namespace)
	}
	return ""
}

func isSameData(a, b *corev1.Secret) bool {
	return string(a.Data[corev1.DockerConfigJsonKey]) == string(b.Data[corev1.DockerConfigJsonKey])
}

// registryPod builds a one-container Pod whose deployment lists one registry, the token as
// its pull secret and Always as its pull policy: a Pod the webhook admitted carries all
// three changes of its patch, and one admitted without it carries none of them.
func registryPod(name, tokenName string) *corev1.Pod {
	list := fmt.Sprintf(`[{"name": "default", "imagePullSecretName": %q, `+
		`"imagePullPolicy": "Always"}]`, tokenName)
	return pod(name, "registry.faults.example:5050/robot/driver:v1",
		contract.ContainerRegistry, list)
}

// inParallel calls do for 0..n-1 from the given number of goroutines and returns when all
// calls have returned.
func inParallel(n, workers int, do func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				do(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// webhookProcess is the webhook binary, which a test can kill and start again with the
// same flags: the same port, certificates and kubeconfig.
type webhookProcess struct {
	binary string
	args   []string
	port   int
	health int
	// logs holds the output of every start.
	logs   *logBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// startWebhook starts the binary with the cluster's kubeconfig and certificates, and kills
// it when the test ends.
func (c *faultCluster) startWebhook(t *testing.T, extra ...string) *webhookProcess {
	t.Helper()
	p := &webhookProcess{
		binary: webhookBinary(t),
		port:   freePort(t),
		health: freePort(t),
		logs:   &logBuffer{},
	}
	p.args = append([]string{
		"--kubeconfig", c.kubeconfig, "--cert-dir", c.certDir,
		"--port", strconv.Itoa(p.port), "--token-namespace", storeNamespace,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(p.health),
	}, extra...)
	p.start(t)
	t.Cleanup(p.kill)
	return p
}

// start runs the binary; it must not be running.
func (p *webhookProcess) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(p.binary, p.args...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // killed by the test or exited: isRunning tells which mattered
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
}

// kill ends the binary with SIGKILL, as the OOM killer or a lost node would, and waits for
// it to be gone.
func (p *webhookProcess) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill() // it may have exited already: waiting below is what matters
	<-p.exited
	p.cmd = nil
}

// isRunning reports whether the binary was started and has not exited.
func (p *webhookProcess) isRunning() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitReady waits until the binary's readiness check passes.
func (p *webhookProcess) waitReady(t *testing.T) {
	t.Helper()
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", p.health)
	require.Eventually(t, func() bool { return httpStatus(ready) == http.StatusOK },
		eventually, 20*time.Millisecond, "the webhook never got ready; logs:\n%s", p.logs)
}

// requireNoTokenInLogs asserts that no password reached the binaries' logs.
func requireNoTokenInLogs(t *testing.T, passwords []string, processes ...*webhookProcess) {
	t.Helper()
	for _, p := range processes {
		logs := p.logs.String()
		require.NotEmpty(t, logs, "the binary logged nothing: the scan would prove nothing")
		for _, password := range passwords {
			require.NotContains(t, logs, password, "a token value is in the binary's logs")
		}
	}
}

// testCA is a certificate authority of one test: the webhook configuration's caBundle,
// and the issuer of the serving certificates the webhook binaries present.
type figure struct {
	Measure string  `json:"measure"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
}

// reportFigure logs a figure and, when BENCH_RESULTS_DIR is set, appends it as one JSON
// line to faults.jsonl there, for `make bench` to put into BENCHMARKS.md.
func reportFigure(t *testing.T, measure string, value float64, unit string) {
	t.Helper()
	t.Logf("%s: %s %s", measure, strconv.FormatFloat(value, 'f', -1, 64), unit)
	dir := os.Getenv("BENCH_RESULTS_DIR")
	if dir == "" {
		return
	}
	line, err := json.Marshal(figure{Measure: measure, Value: value, Unit: unit})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o750))
	file, err := os.OpenFile(filepath.Join(dir, "faults.jsonl"),
		os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = file.Write(append(line, '\n'))
	require.NoError(t, err)
	require.NoError(t, file.Close())
}

// milliseconds is a duration as a figure.
func milliseconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Millisecond)
}

// isWebhookRefusal reports whether the API server refused a creation because it could not
// call the webhook, the failure failurePolicy Fail turns into a refusal.
func isWebhookRefusal(err error) bool {
	return err != nil && strings.Contains(err.Error(), contract.WebhookName)
}
