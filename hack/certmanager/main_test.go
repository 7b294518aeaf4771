package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
)

var testLogLevel = flag.Int("log-level", 0,
	"verbosity of the controllers under test (go test -args -log-level=4)")

// The objects of the test, shaped as the kuberos-registry chart creates them.
const (
	namespace      = "kuberos-registry"
	selfSignedName = "kuberos-registry-selfsigned"
	caCertName     = "kuberos-registry-ca"
	caSecretName   = "kuberos-registry-ca"
	caIssuerName   = "kuberos-registry-ca"
	servingName    = "kuberos-registry-serving"
	servingSecret  = "kuberos-registry-tls"
	webhookName    = "kuberos-registry"
)

var servingDNSNames = []string{
	"kuberos-registry.kuberos-registry.svc",
	"kuberos-registry.kuberos-registry.svc.cluster.local",
}

// TestIssuesAndInjects runs the controllers against a real kube-apiserver and etcd with
// cert-manager's CRDs, and checks that the chart's four cert-manager objects lead to both
// Secrets and to the CA in the webhook configuration's caBundle.
func TestIssuesAndInjects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, setupLogs(*testLogLevel))

	env := &envtest.Environment{
		BinaryAssetsDirectory: controlPlaneAssets(t),
		CRDDirectoryPaths:     []string{certManagerCRDs(t)},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	require.NoError(t, err, "failed to start the control plane")
	t.Cleanup(func() { require.NoError(t, env.Stop()) })

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, env.KubeConfig, 0o600))
	kube := kubernetes.NewForConfigOrDie(cfg)
	cm := cmclient.NewForConfigOrDie(cfg)

	createChartObjects(ctx, t, kube, cm)

	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	var runErr error
	start := time.Now()
	go func() {
		runErr = run(runCtx, options{kubeconfig: kubeconfig})
		close(stopped)
	}()
	defer func() {
		stop()
		select {
		case <-stopped:
			require.NoError(t, runErr, "the controllers failed")
		case <-time.After(30 * time.Second):
			t.Error("the controllers did not stop within 30s of cancellation")
		}
	}()

	// Every wait ends early when the controllers stop on their own.
	await := func(what string, done func(context.Context) (bool, error)) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true,
			func(ctx context.Context) (bool, error) {
				select {
				case <-stopped:
					if runErr != nil {
						return false, fmt.Errorf("the controllers stopped: %w", runErr)
					}
					return false, errors.New("the controllers stopped without an error")
				default:
				}
				return done(ctx)
			})
		require.NoError(t, err, "waiting for %s", what)
	}

	var caSecret, serving *corev1.Secret
	await("both Certificates issued", func(ctx context.Context) (bool, error) {
		caSecret = issuedSecret(ctx, t, kube, caSecretName)
		serving = issuedSecret(ctx, t, kube, servingSecret)
		return caSecret != nil && serving != nil, nil
	})
	issued := time.Since(start)

	var bundle []byte
	await("the caBundle injected", func(ctx context.Context) (bool, error) {
		hook, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().
			Get(ctx, webhookName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		bundle = hook.Webhooks[0].ClientConfig.CABundle
		return len(bundle) > 0, nil
	})
	injected := time.Since(start)
	t.Logf("from start: both Certificates issued after %s, caBundle injected after %s",
		issued.Round(time.Millisecond), injected.Round(time.Millisecond))

	ca := parseCertificate(t, caSecret.Data[corev1.TLSCertKey])
	require.True(t, ca.IsCA, "the CA Certificate's certificate is not a CA")
	require.Equal(t, ca.Raw, parseCertificate(t, bundle).Raw,
		"the caBundle is not the CA's certificate")
	require.Equal(t, ca.Raw, parseCertificate(t, serving.Data[cmmeta.TLSCAKey]).Raw,
		"the serving Secret's ca.crt is not the CA's certificate")

	leaf := parseCertificate(t, serving.Data[corev1.TLSCertKey])
	require.ElementsMatch(t, servingDNSNames, leaf.DNSNames)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err = leaf.Verify(x509.VerifyOptions{
		DNSName:   servingDNSNames[0],
		Roots:     roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	require.NoError(t, err, "the serving certificate does not verify against the CA")
	_, err = tls.X509KeyPair(serving.Data[corev1.TLSCertKey], serving.Data[corev1.TLSPrivateKeyKey])
	require.NoError(t, err, "the serving Secret's key does not match its certificate")
}

// createChartObjects creates what the chart's cert-manager templates create: a self-signed
// Issuer, a CA Certificate it issues, a CA Issuer on the CA's Secret, the serving Certificate
// that Issuer signs, and a webhook configuration that asks for the CA.
func createChartObjects(
	ctx context.Context,
	t *testing.T,
	kube kubernetes.Interface,
	cm cmclient.Interface,
) {
	t.Helper()
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: namespace},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	issuers := []*cmapi.Issuer{
		{
			ObjectMeta: metav1.ObjectMeta{Name: selfSignedName, Namespace: namespace},
			Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
				SelfSigned: &cmapi.SelfSignedIssuer{},
			}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: caIssuerName, Namespace: namespace},
			Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
				CA: &cmapi.CAIssuer{SecretName: caSecretName},
			}},
		},
	}
	for _, issuer := range issuers {
		_, err := cm.CertmanagerV1().Issuers(namespace).Create(ctx, issuer, metav1.CreateOptions{})
		require.NoError(t, err, "failed to create Issuer %s", issuer.Name)
	}

	certificates := []*cmapi.Certificate{
		{
			ObjectMeta: metav1.ObjectMeta{Name: caCertName, Namespace: namespace},
			Spec: cmapi.CertificateSpec{
				IsCA:       true,
				CommonName: "kuberos-registry-ca",
				SecretName: caSecretName,
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm},
				IssuerRef:  cmmeta.IssuerReference{Kind: cmapi.IssuerKind, Name: selfSignedName},
			},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: servingName, Namespace: namespace},
			Spec: cmapi.CertificateSpec{
				DNSNames:   servingDNSNames,
				SecretName: servingSecret,
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm},
				IssuerRef:  cmmeta.IssuerReference{Kind: cmapi.IssuerKind, Name: caIssuerName},
			},
		},
	}
	for _, cert := range certificates {
		_, err := cm.CertmanagerV1().Certificates(namespace).
			Create(ctx, cert, metav1.CreateOptions{})
		require.NoError(t, err, "failed to create Certificate %s", cert.Name)
	}

	// Nothing serves this webhook: it matches no namespace and is ignored on failure, so
	// the API server never calls it.
	_, err = kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx,
		&admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{
				Name: webhookName,
				Annotations: map[string]string{
					cmapi.WantInjectAnnotation: namespace + "/" + servingName,
				},
			},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name: "pods.registry.kuberos.io",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{
					Service: &admissionregistrationv1.ServiceReference{
						Namespace: namespace, Name: "kuberos-registry", Path: ptr.To("/mutate"),
					},
				},
				NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"test.kuberos.io/never": "true"},
				},
				FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
				SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
				AdmissionReviewVersions: []string{"v1"},
			}},
		}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// issuedSecret returns the Secret when cert-manager has written all three keys, else nil.
func issuedSecret(
	ctx context.Context,
	t *testing.T,
	kube kubernetes.Interface,
	name string,
) *corev1.Secret {
	t.Helper()
	secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	for _, key := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey, cmmeta.TLSCAKey} {
		if len(secret.Data[key]) == 0 {
			return nil
		}
	}
	return secret
}

// parseCertificate parses the first certificate of a PEM bundle.
func parseCertificate(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	require.NotNil(t, block, "no PEM block in %q", data)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

// controlPlaneAssets is the directory of kube-apiserver, etcd and kubectl: $KUBEBUILDER_ASSETS,
// else the repository's bin/k8s, which hack/tools/build-control-plane.sh fills.
func controlPlaneAssets(t *testing.T) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "..", "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Fatalf("no kube-apiserver in %s: run hack/tools/build-control-plane.sh first", assets)
	}
	return assets
}

// certManagerCRDs is deploy/crds of the cert-manager module this module requires, in the
// module cache: the CRDs match the controllers because they come from the same version.
func certManagerCRDs(t *testing.T) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}",
		"github.com/cert-manager/cert-manager")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("%w: %s", err, stderr.String())
		}
		t.Fatalf("failed to locate the cert-manager module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
}

func TestParseFlags(t *testing.T) {
	t.Setenv("KUBECONFIG", "/from/env")
	tests := []struct {
		name      string
		args      []string
		want      options
		wantLevel int
		wantErr   bool
	}{
		{
			name:      "no flags watch every namespace with $KUBECONFIG at info level",
			want:      options{kubeconfig: "/from/env"},
			wantLevel: 2,
		},
		{
			name:      "every flag is read",
			args:      []string{"--kubeconfig", "/k", "--namespace", "ns", "--log-level", "4"},
			want:      options{kubeconfig: "/k", namespace: "ns"},
			wantLevel: 4,
		},
		{name: "an unknown flag is an error", args: []string{"--master", "x"}, wantErr: true},
		{name: "a stray argument is an error", args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, level, err := parseFlags(tt.args)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, opts)
			require.Equal(t, tt.wantLevel, level)
		})
	}
}
