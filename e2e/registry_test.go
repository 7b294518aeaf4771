package e2e

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

const (
	// realRegistryToken is the token of the private registry in the suite's store.
	realRegistryToken = "real-registry-token"
	// realRegistryUser is the registry's only htpasswd user.
	realRegistryUser = "robot-e2e"
	// realRegistryPrefix starts the names of this test's namespaces, the only ones the token
	// allows, so that no other test's Pod matches the registry's host.
	realRegistryPrefix = "real-registry"
)

// TestRealRegistry pushes an image to a real CNCF Distribution registry with TLS and htpasswd
// authentication, lets the webhook admit Pods for it, and pulls the image with the credentials
// the kubelet would use: go-containerregistry's Kubernetes keychain resolves them from the
// Pod's namespace and imagePullSecrets with the kubelet's matching rules. After
// `token update`, the copies pull with the new password and the old one is refused.
func TestRealRegistry(t *testing.T) {
	ctx := context.Background()
	oldPassword, newPassword := newRegistryPassword(t), newRegistryPassword(t)
	reg := startPrivateRegistry(t, oldPassword)
	ref, err := name.ParseReference(reg.host + "/robots/talker:v1")
	require.NoError(t, err)

	img, err := random.Image(2048, 2)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, reg.options(ctx, remote.WithAuth(
		&authn.Basic{Username: realRegistryUser, Password: oldPassword}))...),
		"failed to push the image to the registry")
	pushed, err := img.Digest()
	require.NoError(t, err)

	t.Run("the registry refuses a pull without credentials", func(t *testing.T) {
		_, err := pullImage(ctx, reg, ref, remote.WithAuth(authn.Anonymous))
		requireUnauthorized(t, err)
	})

	spec := token.Spec{
		Name:              realRegistryToken,
		RegistryURL:       reg.host,
		UserName:          realRegistryUser,
		Description:       "the e2e private registry",
		Token:             oldPassword,
		AllowedNamespaces: realRegistryPrefix + "-*",
	}
	require.NoError(t, spec.Validate())
	secret, err := token.NewSecret(spec, storeNamespace)
	require.NoError(t, err)
	_, err = kube.CoreV1().Secrets(storeNamespace).Create(ctx, secret, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		// The controller deletes the copies with the token.
		err := kube.CoreV1().Secrets(storeNamespace).Delete(context.Background(),
			realRegistryToken, metav1.DeleteOptions{})
		assert.NoError(t, err, "failed to delete the token %s", realRegistryToken)
	})

	list := fmt.Sprintf(`[{"name":"default","imagePullSecretName":%q}]`, realRegistryToken)
	cases := []struct {
		name        string
		prefix      string
		annotations []string
	}{
		{
			name:        "a Pod naming the token in its container-registry list pulls the image",
			prefix:      realRegistryPrefix + "-list",
			annotations: []string{contract.ContainerRegistry, list},
		},
		{
			name:   "a Pod with no annotations pulls the image its registry host matches",
			prefix: realRegistryPrefix + "-host",
		},
	}
	admitted := make([]*corev1.Pod, len(cases))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			namespace := newNamespace(t, tc.prefix, true, nil)
			created, err := createPod(t, namespace, pod("talker", ref.String(),
				tc.annotations...))
			require.NoError(t, err)
			require.Equal(t, []string{realRegistryToken}, pullSecretNames(created))
			admitted[i] = created

			keychain := kubeletKeychain(t, created)
			requireResolvesTo(t, keychain, ref, oldPassword)
			got, err := pullImage(ctx, reg, ref, remote.WithAuthFromKeychain(keychain))
			require.NoError(t, err, "the Pod's pull secrets must open the registry")
			assert.Equal(t, pushed, got)
		})
	}

	t.Run("after token update the copies pull with the new password", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, newPassword, "token", "update", realRegistryToken,
			"--token-stdin")
		require.NoError(t, err, stderr)
		assert.False(t, strings.Contains(stdout+stderr, newPassword),
			"the CLI printed the new token")
		reg.setPassword(t, newPassword)

		rotated, err := kube.CoreV1().Secrets(storeNamespace).Get(ctx, realRegistryToken,
			metav1.GetOptions{})
		require.NoError(t, err)
		for _, p := range admitted {
			require.NotNil(t, p, "the Pod was not admitted")
			require.Eventually(t, func() bool { return copyIs(p.Namespace, rotated) },
				eventually, 20*time.Millisecond, "the copy in %s was never updated", p.Namespace)

			keychain := kubeletKeychain(t, p)
			requireResolvesTo(t, keychain, ref, newPassword)
			got, err := pullImage(ctx, reg, ref, remote.WithAuthFromKeychain(keychain))
			require.NoError(t, err, "the rotated copy in %s must open the registry", p.Namespace)
			assert.Equal(t, pushed, got)
		}
	})

	t.Run("the registry refuses the old password", func(t *testing.T) {
		_, err := pullImage(ctx, reg, ref, remote.WithAuth(
			&authn.Basic{Username: realRegistryUser, Password: oldPassword}))
		requireUnauthorized(t, err)
	})
}

// kubeletKeychain resolves registry credentials as the kubelet does for the Pod: from the
// Secrets its imagePullSecrets name, in its namespace. A ServiceAccount's pull secrets are
// already in the Pod's spec (the ServiceAccount admission plugin copies them), so the
// keychain does not read the ServiceAccount again.
func kubeletKeychain(t *testing.T, p *corev1.Pod) authn.Keychain {
	t.Helper()
	keychain, err := k8schain.New(context.Background(), kube, k8schain.Options{
		Namespace:          p.Namespace,
		ServiceAccountName: k8schain.NoServiceAccount,
		ImagePullSecrets:   pullSecretNames(p),
	})
	require.NoError(t, err)
	return keychain
}

// requireResolvesTo asserts that the keychain answers the image's registry with the
// registry's user and that password, so that a pull proves the copy and not some other
// credential. The password is compared without printing it.
func requireResolvesTo(
	t *testing.T, keychain authn.Keychain, ref name.Reference, password string,
) {
	t.Helper()
	auth, err := keychain.Resolve(ref.Context())
	require.NoError(t, err)
	config, err := auth.Authorization()
	require.NoError(t, err)
	require.Equal(t, realRegistryUser, config.Username,
		"the keychain found no credentials of the registry in the Pod's pull secrets")
	require.True(t, config.Password == password,
		"the Pod's pull secret does not hold the expected password")
}

// pullImage pulls the image's manifest, config and layers from the registry, checks their
// digests, and returns the manifest's digest.
func pullImage(
	ctx context.Context, reg *privateRegistry, ref name.Reference, auth remote.Option,
) (v1.Hash, error) {
	img, err := remote.Image(ref, reg.options(ctx, auth)...)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := validate.Image(img); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// requireUnauthorized asserts that the registry answered 401 Unauthorized.
func requireUnauthorized(t *testing.T, err error) {
	t.Helper()
	var registryErr *transport.Error
	require.ErrorAs(t, err, &registryErr, "the registry must refuse the pull")
	assert.Equal(t, http.StatusUnauthorized, registryErr.StatusCode)
}

// newRegistryPassword returns a random password and remembers it, and the auth field that
// carries it, for the scan of the logs.
func newRegistryPassword(t *testing.T) string {
	t.Helper()
	raw := make([]byte, 16)
	_, err := rand.Read(raw)
	require.NoError(t, err)
	password := "e2e-" + hex.EncodeToString(raw)
	rememberSecret(password,
		base64.StdEncoding.EncodeToString([]byte(realRegistryUser+":"+password)))
	return password
}

// privateRegistry is a CNCF Distribution registry process serving TLS on 127.0.0.1 with
// htpasswd authentication and its storage in a temporary directory.
type privateRegistry struct {
	binary string
	dir    string
	port   int
	// host is the registry as images and tokens name it: 127.0.0.1:PORT.
	host string
	// roots trusts the CA that signed the registry's serving certificate.
	roots *x509.CertPool
	// stop kills the running process and waits for it.
	stop func()
	logs *logBuffer
}

// registryBinary is the registry `make registry` builds; a missing one fails the test.
func registryBinary(t *testing.T) string {
	t.Helper()
	binary, err := filepath.Abs(filepath.Join("..", "bin", "registry"))
	require.NoError(t, err)
	_, err = os.Stat(binary)
	require.NoError(t, err, "no registry binary: run `make registry` first")
	return binary
}

// startPrivateRegistry starts a registry whose only user is realRegistryUser with the
// password, and returns once it serves.
func startPrivateRegistry(t *testing.T, password string) *privateRegistry {
	t.Helper()
	reg := &privateRegistry{
		binary: registryBinary(t),
		dir:    t.TempDir(),
		port:   freePort(t),
		logs:   &logBuffer{},
	}
	reg.host = net.JoinHostPort("127.0.0.1", strconv.Itoa(reg.port))
	ca := newTestCA(t)
	ca.writeServingCert(t, reg.dir)
	reg.roots = ca.pool()
	writeHTPasswd(t, filepath.Join(reg.dir, "htpasswd"), password)
	writeRegistryConfig(t, reg)
	t.Cleanup(func() {
		if reg.stop != nil {
			reg.stop()
		}
		if t.Failed() {
			t.Logf("the registry's logs:\n%s", reg.logs.String())
		}
	})
	reg.start(t)
	return reg
}

// setPassword replaces the user's password in the htpasswd file and restarts the registry
// on the same port, so that the new password is the only one from then on. (v3.1.2 also
// rereads the file when its modification time changes; the restart does not depend on it.)
func (r *privateRegistry) setPassword(t *testing.T, password string) {
	t.Helper()
	writeHTPasswd(t, filepath.Join(r.dir, "htpasswd"), password)
	r.stop()
	r.stop = nil
	r.start(t)
}

// start runs the registry and waits until it serves TLS and asks for credentials.
func (r *privateRegistry) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(r.binary, "serve", filepath.Join(r.dir, "config.yml"))
	// The registry exports traces over OTLP by default; nothing listens for them here.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // killed on purpose by stop, or reported by the wait below
		close(exited)
	}()
	r.stop = func() {
		_ = cmd.Process.Kill() // it may have exited already; exited says when it is gone
		<-exited
	}

	client := &http.Client{Transport: r.transport(), Timeout: 2 * time.Second}
	url := "https://" + r.host + "/v2/"
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true,
		func(ctx context.Context) (bool, error) {
			select {
			case <-exited:
				return false, errors.New("the registry exited")
			default:
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return false, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return false, nil //nolint:nilerr // not serving yet: poll again
			}
			_ = resp.Body.Close() // only the status matters
			return resp.StatusCode == http.StatusUnauthorized, nil
		})
	require.NoError(t, err, "the registry did not ask for credentials on %s", url)
}

// options are the remote options of a request to the registry: the context, the
// authentication given, and a transport that trusts the registry's CA and refuses plain HTTP.
func (r *privateRegistry) options(ctx context.Context, auth remote.Option) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(r.transport()), auth}
}

// transport trusts the registry's CA. go-containerregistry would fall back to plain HTTP
// for a loopback registry; this transport refuses it, so that every request in the test is
// made over TLS. Keep-alives are off: the registry is restarted on the same port.
func (r *privateRegistry) transport() http.RoundTripper {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig.RootCAs = r.roots
	base.DisableKeepAlives = true
	return httpsOnly{base}
}

// httpsOnly refuses any request that is not HTTPS.
type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("refused a %s request to %s: the registry serves TLS only",
			req.URL.Scheme, req.URL.Host)
	}
	return h.next.RoundTrip(req)
}

// writeHTPasswd writes an htpasswd file whose only user is realRegistryUser. The registry
// accepts bcrypt entries only; the lowest cost keeps each authenticated request cheap.
func writeHTPasswd(t *testing.T, path, password string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	line := realRegistryUser + ":" + string(hash) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(line), 0o600))
}

// registryConfig is the registry's configuration: storage, address, TLS and htpasswd.
// https://distribution.github.io/distribution/about/configuration/
const registryConfig = `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
http:
  addr: %q
  secret: %q
  tls:
    certificate: %q
    key: %q
auth:
  htpasswd:
    realm: kuberos-registry-e2e
    path: %q
`

func writeRegistryConfig(t *testing.T, reg *privateRegistry) {
	t.Helper()
	// The secret signs the registry's upload state; a random one per test run.
	secret := make([]byte, 16)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	config := fmt.Sprintf(registryConfig,
		filepath.Join(reg.dir, "storage"),
		reg.host,
		hex.EncodeToString(secret),
		filepath.Join(reg.dir, "tls.crt"),
		filepath.Join(reg.dir, "tls.key"),
		filepath.Join(reg.dir, "htpasswd"))
	require.NoError(t, os.WriteFile(filepath.Join(reg.dir, "config.yml"), []byte(config), 0o600))
}
