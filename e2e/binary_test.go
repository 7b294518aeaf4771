package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
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
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// TestBinary runs cmd/kuberos-registry-webhook as users run it: a process with flags.
func TestBinary(t *testing.T) {
	binary := webhookBinary(t)
	kubeconfig := writeKubeconfig(t)

	t.Run("it serves its certificate, is ready, logs its configuration once and reloads "+
		"a replaced certificate", func(t *testing.T) {
		certDir := t.TempDir()
		ca := newTestCA(t)
		first := ca.writeServingCert(t, certDir)
		port, health := freePort(t), freePort(t)
		logs := startBinary(t, binary, "--kubeconfig", kubeconfig, "--cert-dir", certDir,
			"--port", strconv.Itoa(port),
			"--health-probe-bind-address", "127.0.0.1:"+strconv.Itoa(health),
			"--metrics-bind-address", "0", "--log-level", "debug",
			"--token-namespace", storeNamespace, "--on-missing-secret", "Deny")

		ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", health)
		require.Eventually(t, func() bool { return httpStatus(ready) == http.StatusOK },
			eventually, 50*time.Millisecond, "never ready; logs:\n%s", logs)
		assert.Equal(t, first, servedSerial(t, port))

		starting := logs.lines(`"starting"`)
		require.Len(t, starting, 1, "the configuration is logged once")
		assert.Contains(t, starting[0], `"onMissingSecret":"Deny"`)
		assert.Contains(t, starting[0], `"tokenNamespace":"`+storeNamespace+`"`)

		review := postReview(t, port)
		assert.True(t, review.Response.Allowed,
			"a Pod of a namespace that did not opt in is allowed: %v", review.Response.Result)

		second := ca.writeServingCert(t, certDir)
		require.NotEqual(t, first, second)
		require.Eventually(t, func() bool { return servedSerial(t, port) == second },
			eventually, 50*time.Millisecond, "the replaced certificate was never served")
	})

	t.Run("without a certificate it never becomes ready and exits with the reason",
		func(t *testing.T) {
			cmd := exec.Command(binary, "--kubeconfig", kubeconfig, "--cert-dir", t.TempDir(),
				"--port", strconv.Itoa(freePort(t)), "--metrics-bind-address", "0",
				"--health-probe-bind-address", "0")
			out, err := cmd.CombinedOutput()
			require.Error(t, err)
			assert.Contains(t, string(out), "tls.crt")
		})

	t.Run("a wrong flag value is refused with the values allowed", func(t *testing.T) {
		out, err := exec.Command(binary, "--on-missing-secret", "Maybe").CombinedOutput()
		require.Error(t, err)
		assert.Contains(t, string(out), "use Warn or Deny")
	})
}

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	user, err := testEnv.AddUser(envtest.User{Name: "webhook-binary",
		Groups: []string{"system:masters"}}, nil)
	require.NoError(t, err)
	data, err := user.KubeConfig()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// servedSerial returns the serial number of the certificate the webhook serves.
func servedSerial(t *testing.T, port int) string {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port),
		&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the certificate only
	if err != nil {
		return ""
	}
	defer func() { _ = conn.Close() }() // a read-only probe
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func postReview(t *testing.T, port int) *admissionv1.AdmissionReview {
	t.Helper()
	namespace := newNamespace(t, "binary", false, nil)
	raw, err := json.Marshal(pod("via-binary", "binary.example.com/app:v1"))
	require.NoError(t, err)
	body, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "binary",
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: namespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test client
	}}
	url := fmt.Sprintf("https://127.0.0.1:%d%s", port, contract.WebhookPath)
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }() // the body was read
	review := &admissionv1.AdmissionReview{}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(review))
	require.NotNil(t, review.Response)
	return review
}

func httpStatus(url string) int {
	resp, err := http.Get(url) //nolint:gosec // a URL the test built
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }() // status only
	return resp.StatusCode
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }() // the port is handed to the binary
	return l.Addr().(*net.TCPAddr).Port
}

// logBuffer collects a process's output, safe for concurrent writes and reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the lines that contain the text.
func (b *logBuffer) lines(text string) []string {
	var found []string
	for line := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(line, text) {
			found = append(found, line)
		}
	}
	return found
}

// startBinary starts the binary and stops it when the test ends.
func startBinary(t *testing.T, binary string, args ...string) *logBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait() // killed on purpose: its exit status says nothing
	})
	return logs
}
