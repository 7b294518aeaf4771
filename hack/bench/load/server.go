package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
	"github.com/kuberos-io/kuberos-registry/webhook"
)

// The fake cluster of the handler, shaped as KubeROS uses it.
const (
	storeNamespace = "kuberos-registry"
	podNamespace   = "ros-default"
	registryHost   = "registry.example.com"
	defaultToken   = "kuberos-registry-token-default"
	secondToken    = "second-registry-token"
	webhookPath    = "/mutate-v1-pod"
)

// servers are ours and the floor, listening with the same certificate.
type servers struct {
	oursURL  string
	floorURL string
	roots    *x509.CertPool
}

// startServers starts both webhook servers and waits until they serve. They stop with ctx.
func startServers(ctx context.Context, dir string) (servers, error) {
	roots, err := writeServingCert(dir)
	if err != nil {
		return servers{}, err
	}

	ours, err := startServer(ctx, dir, newPodMutator())
	if err != nil {
		return servers{}, fmt.Errorf("failed to start our webhook: %w", err)
	}
	floor, err := startServer(ctx, dir, admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response {
			return admission.Allowed("")
		}))
	if err != nil {
		return servers{}, fmt.Errorf("failed to start the no-op webhook: %w", err)
	}
	return servers{oursURL: ours, floorURL: floor, roots: roots}, nil
}

// startServer serves the handler with a controller-runtime webhook server on a free port of
// 127.0.0.1 and returns its URL once it accepts connections.
func startServer(
	ctx context.Context,
	certDir string,
	handler admission.Handler,
) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host: "127.0.0.1", Port: port, CertDir: certDir,
	})
	srv.Register(webhookPath, &admission.Webhook{Handler: handler})

	failed := make(chan error, 1)
	go func() { failed <- srv.Start(ctx) }()

	started := srv.StartedChecker()
	probe, _ := http.NewRequest(http.MethodGet, "/", nil) // a constant request cannot fail
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) {
			select {
			case err := <-failed:
				return false, fmt.Errorf("the server stopped: %w", err)
			default:
			}
			return started(probe) == nil, nil
		})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("https://127.0.0.1:%d%s", port, webhookPath), nil
}

// newPodMutator is our handler over a fake cluster in steady state: no request writes.
func newPodMutator() admission.Handler {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        podNamespace,
		Annotations: map[string]string{contract.Inject: contract.InjectEnabled},
	}}
	objects := []client.Object{ns}
	for _, name := range []string{defaultToken, secondToken} {
		source := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Namespace:   storeNamespace,
				Labels:      contract.TokenLabels(),
				Annotations: map[string]string{contract.RegistryURL: registryHost},
			},
			Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
				`{"auths":{"` + registryHost + `":{"username":"robot","password":"bench"}}}`)},
		}
		objects = append(objects, source, token.NewCopy(source, podNamespace))
	}
	c := fake.NewClientBuilder().WithObjects(objects...).Build()
	return webhook.NewPodMutator(webhook.Options{
		Client: c,
		Store:  token.NewStore(c, c, storeNamespace),
	})
}

// reviewBody is the AdmissionReview every request sends: a Pod as KubeROS builds it, with
// three containers, two on the default registry and one naming the second.
func reviewBody() ([]byte, error) {
	list := `[{"name":"default","imagePullSecretName":"` + defaultToken +
		`","imagePullPolicy":"Always"},{"name":"second-registry","imagePullSecretName":"` +
		secondToken + `","imagePullPolicy":"IfNotPresent"}]`
	var containers []corev1.Container
	for _, name := range []string{"talker", "listener", "rosbridge"} {
		containers = append(containers, corev1.Container{
			Name:            name,
			Image:           registryHost + "/ros2-basic-examples:" + name,
			ImagePullPolicy: corev1.PullAlways,
		})
	}
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "simbot-1-talker",
			Namespace: podNamespace,
			Labels:    map[string]string{"pod-name": "simbot-1-talker"},
			Annotations: map[string]string{
				contract.ContainerRegistry:     list,
				contract.ContainerRegistryName: "listener=second-registry",
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:    corev1.RestartPolicyNever,
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: ""}},
			Containers:       containers,
		},
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the Pod: %w", err)
	}
	return json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "load-request",
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: podNamespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	})
}

// writeServingCert writes a self-signed certificate for 127.0.0.1 as tls.crt and tls.key,
// the names the webhook server reads by default, and returns a pool that trusts it.
func writeServingCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to generate a key: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kuberos-registry-bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("failed to create the certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the key: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("failed to trust the certificate")
	}
	return roots, nil
}

// newClient is the keep-alive HTTP/1.1 client of both servers: enough idle connections for
// the requests in flight at the rate, so that no request pays for a TLS handshake once warm.
func newClient(roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second, // the API server's longest webhook timeout is 30 s
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			// A cap on connections: when the machine stalls, requests queue (and their wait
			// counts in the latency) instead of opening hundreds of TLS connections at once.
			MaxConnsPerHost:     64,
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     time.Minute,
		},
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer func() { _ = l.Close() }() // only the port number is needed
	return l.Addr().(*net.TCPAddr).Port, nil
}
