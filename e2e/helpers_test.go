package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// eventually is the deadline for anything the controllers converge to.
const eventually = 30 * time.Second

// newNamespace creates a namespace with a generated name. An opted-in namespace carries the
// annotation only, as users write it, and is returned once the controller has set the label
// the webhook configuration selects on.
func newNamespace(t *testing.T, prefix string, optedIn bool, labels map[string]string) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: prefix + "-",
		Labels:       labels,
	}}
	if optedIn {
		ns.Annotations = map[string]string{contract.Inject: contract.InjectEnabled}
	}
	created, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	if optedIn {
		waitForInjectLabel(t, created.Name, contract.InjectEnabled)
	}
	return created.Name
}

// waitForInjectLabel waits until the namespace's inject label has the value ("" for absent).
func waitForInjectLabel(t *testing.T, namespace, want string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ns, err := kube.CoreV1().Namespaces().Get(context.Background(), namespace,
			metav1.GetOptions{})
		return err == nil && ns.Labels[contract.Inject] == want
	}, eventually, 20*time.Millisecond, "the inject label of %s never became %q", namespace, want)
}

// createToken stores a registry token as a Secret of the contract.
func createToken(t *testing.T, name, registryURL, allowed string) *corev1.Secret {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + name + "-password"))
	rememberSecret(name+"-password", auth)
	config, err := json.Marshal(map[string]any{"auths": map[string]any{
		registryURL: map[string]string{
			"username": "robot", "password": name + "-password", "auth": auth,
		},
	}})
	require.NoError(t, err)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: storeNamespace,
			Labels:    contract.TokenLabels(),
			Annotations: map[string]string{
				contract.RegistryURL: registryURL,
				contract.UserName:    "robot",
			},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: config},
	}
	if allowed != "" {
		secret.Annotations[contract.AllowedNamespaces] = allowed
	}
	created, err := kube.CoreV1().Secrets(storeNamespace).Create(context.Background(), secret,
		metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// pod builds a one-container Pod with the annotations given as key, value pairs.
func pod(name, image string, annotations ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
	}
	if len(annotations) > 0 {
		p.Annotations = map[string]string{}
		for i := 0; i+1 < len(annotations); i += 2 {
			p.Annotations[annotations[i]] = annotations[i+1]
		}
	}
	return p
}

func createPod(t *testing.T, namespace string, p *corev1.Pod) (*corev1.Pod, error) {
	t.Helper()
	return kube.CoreV1().Pods(namespace).Create(context.Background(), p, metav1.CreateOptions{})
}

// pullSecretNames returns the names of the Pod's imagePullSecrets, in order.
func pullSecretNames(p *corev1.Pod) []string {
	names := []string{}
	for _, ref := range p.Spec.ImagePullSecrets {
		names = append(names, ref.Name)
	}
	return names
}

// requireCopy asserts that the namespace holds a labelled copy of the token, equal to it.
func requireCopy(t *testing.T, namespace string, tok *corev1.Secret) {
	t.Helper()
	copied, err := kube.CoreV1().Secrets(namespace).Get(context.Background(), tok.Name,
		metav1.GetOptions{})
	require.NoError(t, err, "the copy of %s must exist when the create call returns", tok.Name)
	assert.Equal(t, contract.MirrorLabels(tok.Name), copied.Labels)
	assert.Equal(t, tok.Type, copied.Type)
	assert.Equal(t, tok.Data, copied.Data)
}

// requireNoSecret asserts that the namespace holds no Secret of that name.
func requireNoSecret(t *testing.T, namespace, name string) {
	t.Helper()
	_, err := kube.CoreV1().Secrets(namespace).Get(context.Background(), name,
		metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "want no Secret %s/%s, got err=%v",
		namespace, name, err)
}

// admissionCount is how many Pod admission requests the webhook has handled.
func admissionCount(t *testing.T) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, family := range families {
		if family.GetName() != contract.MetricAdmissions {
			continue
		}
		for _, m := range family.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// warningRecorder collects the warnings the API server returns to a client.
type warningRecorder struct {
	mu       sync.Mutex
	messages []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

func (w *warningRecorder) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.messages, "\n")
}

// clientWithWarnings returns a clientset whose warnings land in the recorder.
func clientWithWarnings(t *testing.T) (*kubernetes.Clientset, *warningRecorder) {
	t.Helper()
	recorder := &warningRecorder{}
	cfg := rest.CopyConfig(restConfig)
	cfg.WarningHandler = recorder
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return cs, recorder
}

// gaugeValue reads a gauge of the metrics registry by its token label.
func gaugeValue(t *testing.T, name, tokenName string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, m := range family.GetMetric() {
			for _, label := range m.GetLabel() {
				if label.GetName() == "token" && label.GetValue() == tokenName {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

var (
	secretsMu sync.Mutex
	secrets   []string
)

// rememberSecret records token values that must never appear in any log or output.
func rememberSecret(values ...string) {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	secrets = append(secrets, values...)
}

// rememberedSecrets returns the token values recorded so far.
func rememberedSecrets() []string {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	return append([]string(nil), secrets...)
}
