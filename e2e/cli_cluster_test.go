package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// The contexts of the fleet kubeconfig: the suite's cluster, a second control plane, and a
// cluster whose API server does not answer.
const (
	fleetCluster1  = "robot-cluster-1"
	fleetCluster2  = "robot-cluster-2"
	fleetOffline   = "robot-cluster-offline"
	fleetOfflineAt = "https://127.0.0.1:1" // nothing listens on port 1
)

// fleet is two control planes at once and one kubeconfig with a context for each.
type fleet struct {
	kubeconfig string
	second     *kubernetes.Clientset
	// store is the token store of the test on both clusters, so that tokens of other tests
	// in the suite's store do not change the counts.
	store string
}

// cli runs the CLI with the fleet's kubeconfig and store.
func (f fleet) cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runCLI(t, "", append([]string{"--kubeconfig", f.kubeconfig, "--token-namespace",
		f.store}, args...)...)
}

// startFleet starts a second control plane, stopped when the test ends, and writes the
// kubeconfig of the fleet.
func startFleet(t *testing.T) fleet {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin", "k8s")
	}
	second := &envtest.Environment{BinaryAssetsDirectory: assets}
	secondConfig, err := second.Start()
	require.NoError(t, err, "failed to start the second control plane")
	t.Cleanup(func() {
		assert.NoError(t, second.Stop(), "failed to stop the second control plane")
	})

	merged := clientcmdapi.NewConfig()
	for name, env := range map[string]*envtest.Environment{
		fleetCluster1: testEnv, fleetCluster2: second,
	} {
		user, err := env.AddUser(envtest.User{Name: "fleet-admin",
			Groups: []string{"system:masters"}}, nil)
		require.NoError(t, err)
		data, err := user.KubeConfig()
		require.NoError(t, err)
		own, err := clientcmd.Load(data)
		require.NoError(t, err)
		kubeContext := own.Contexts[own.CurrentContext]
		merged.Clusters[name] = own.Clusters[kubeContext.Cluster]
		merged.AuthInfos[name] = own.AuthInfos[kubeContext.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	offline := merged.Clusters[fleetCluster1].DeepCopy()
	offline.Server = fleetOfflineAt
	merged.Clusters[fleetOffline] = offline
	merged.Contexts[fleetOffline] = &clientcmdapi.Context{Cluster: fleetOffline,
		AuthInfo: fleetCluster1}
	merged.CurrentContext = fleetCluster1

	path := filepath.Join(t.TempDir(), "fleet.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*merged, path))

	store, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "fleet-store-"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return fleet{
		kubeconfig: path,
		second:     kubernetes.NewForConfigOrDie(secondConfig),
		store:      store.Name,
	}
}

// createFleetToken stores a token of the contract in the fleet's store on the suite's cluster.
func createFleetToken(t *testing.T, store, name, registryURL string) *corev1.Secret {
	t.Helper()
	secret, err := token.NewSecret(token.Spec{Name: name, RegistryURL: registryURL,
		UserName: "robot-ci", Token: name + "-secret-value", Description: "fleet"}, store)
	require.NoError(t, err)
	created, err := kube.CoreV1().Secrets(store).Create(context.Background(), secret,
		metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

var (
	serverPort    = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	serverVersion = regexp.MustCompile(`\bv\d+\.\d+\.\d+\S*`)
	tableGap      = regexp.MustCompile(`\s{2,}`)
)

// normalizeClusterTable replaces the random ports and the version of the control planes and
// aligns the columns again, for golden files.
func normalizeClusterTable(t *testing.T, out string) string {
	t.Helper()
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 3, ' ', 0)
	for line := range strings.Lines(out) {
		line = serverPort.ReplaceAllString(line, "127.0.0.1:PORT")
		line = serverVersion.ReplaceAllString(line, "VERSION")
		cells := tableGap.Split(strings.TrimRight(line, " \n"), -1)
		_, err := tw.Write([]byte(strings.Join(cells, "\t") + "\n"))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Flush())
	return b.String()
}

// TestCLICluster runs cluster list, token attach and token detach against two control planes
// at once, with one kubeconfig of three contexts: the suite's cluster, which runs the webhook,
// a second cluster without it, and one that does not answer.
func TestCLICluster(t *testing.T) {
	f := startFleet(t)
	lab := createFleetToken(t, f.store, "fleet-lab", "registry.lab.example:5050")
	createFleetToken(t, f.store, "fleet-planning", "planning.example.org/robotics")
	ctx := context.Background()

	t.Run("cluster list shows every context, reachable or not", func(t *testing.T) {
		stdout, stderr, err := f.cli(t, "cluster", "list")
		require.NoError(t, err, "an unreachable cluster is a row, not a failure")
		assert.Empty(t, stderr)
		golden(t, "cluster-list.txt", normalizeClusterTable(t, stdout))

		stdout, _, err = f.cli(t, "cluster", "list", "-o", "wide", "--timeout", "2s")
		require.NoError(t, err)
		golden(t, "cluster-list-wide.txt", normalizeClusterTable(t, stdout))
	})

	t.Run("cluster list -o json has a row per context", func(t *testing.T) {
		stdout, _, err := f.cli(t, "cluster", "list", "-o", "json")
		require.NoError(t, err)
		var rows []struct {
			Name      string `json:"name"`
			Current   bool   `json:"current"`
			Server    string `json:"server"`
			Reachable bool   `json:"reachable"`
			Version   string `json:"version"`
			Webhook   string `json:"webhook"`
			Tokens    *int   `json:"tokens"`
			Error     string `json:"error"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &rows), stdout)
		require.Len(t, rows, 3)
		assert.Equal(t, fleetCluster1, rows[0].Name)
		assert.True(t, rows[0].Current)
		assert.Equal(t, strings.TrimSuffix(restConfig.Host, "/"), rows[0].Server)
		assert.Equal(t, "installed", rows[0].Webhook)
		require.NotNil(t, rows[0].Tokens)
		assert.Equal(t, 2, *rows[0].Tokens)
		assert.Equal(t, "no", rows[1].Webhook, "the second cluster runs no webhook")
		assert.NotEmpty(t, rows[1].Version)
		assert.False(t, rows[2].Reachable)
		assert.Nil(t, rows[2].Tokens)
		assert.Contains(t, rows[2].Error, "connection refused")
	})

	t.Run("a timeout that is not positive is refused", func(t *testing.T) {
		_, _, err := f.cli(t, "cluster", "list", "--timeout", "0s")
		require.EqualError(t, err, "invalid --timeout 0s: give a positive duration, for "+
			"example 5s")
	})

	t.Run("attach copies the token into the store of the second cluster", func(t *testing.T) {
		stdout, _, err := f.cli(t, "token", "attach", lab.Name, "--cluster", fleetCluster2)
		require.NoError(t, err)
		assert.Equal(t, "created namespace "+f.store+" in cluster robot-cluster-2\n"+
			"token fleet-lab attached to cluster robot-cluster-2 (store "+f.store+")\n", stdout)

		attached, err := f.second.CoreV1().Secrets(f.store).Get(ctx, lab.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, lab.Labels, attached.Labels)
		assert.Equal(t, lab.Annotations, attached.Annotations)
		assert.Equal(t, lab.Type, attached.Type)
		assert.Equal(t, lab.Data, attached.Data)
		assert.NotContains(t, stdout, "fleet-lab-secret-value", "the token is never printed")

		stdout, _, err = f.cli(t, "token", "attach", lab.Name, "--cluster", fleetCluster2)
		require.NoError(t, err)
		assert.Equal(t, "token fleet-lab is already attached to cluster robot-cluster-2 "+
			"(store "+f.store+"); nothing changed\n", stdout)
		again, err := f.second.CoreV1().Secrets(f.store).Get(ctx, lab.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, attached.ResourceVersion, again.ResourceVersion,
			"attaching twice writes nothing")
	})

	t.Run("attach updates a token whose data changed", func(t *testing.T) {
		rotated, err := token.NewSecret(token.Spec{Name: lab.Name,
			RegistryURL: "registry.lab.example:5050", UserName: "robot-ci",
			Token: lab.Name + "-rotated-value", Description: "fleet"}, f.store)
		require.NoError(t, err)
		current, err := kube.CoreV1().Secrets(f.store).Get(ctx, lab.Name, metav1.GetOptions{})
		require.NoError(t, err)
		current.Data = rotated.Data
		_, err = kube.CoreV1().Secrets(f.store).Update(ctx, current, metav1.UpdateOptions{})
		require.NoError(t, err)

		stdout, _, err := f.cli(t, "token", "attach", lab.Name, "--cluster", fleetCluster2)
		require.NoError(t, err)
		assert.Equal(t, "token fleet-lab updated in cluster robot-cluster-2 (store "+f.store+
			"): it differed from the token\n", stdout)
		attached, err := f.second.CoreV1().Secrets(f.store).Get(ctx, lab.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, rotated.Data, attached.Data)
		lab = current
	})

	workload := "ros-default"
	_, err := f.second.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: workload},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	t.Run("attach --namespace writes a labelled copy there", func(t *testing.T) {
		stdout, _, err := f.cli(t, "token", "attach", lab.Name, "--cluster", fleetCluster2,
			"--namespace", workload)
		require.NoError(t, err)
		assert.Equal(t, "token fleet-lab attached to cluster robot-cluster-2 (namespace "+
			"ros-default)\n", stdout)
		copied, err := f.second.CoreV1().Secrets(workload).Get(ctx, lab.Name,
			metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, contract.MirrorLabels(lab.Name), copied.Labels)
		assert.Equal(t, lab.Type, copied.Type)
		assert.Equal(t, lab.Data, copied.Data)

		stdout, _, err = f.cli(t, "token", "attach", lab.Name, "--cluster", fleetCluster2,
			"-n", workload)
		require.NoError(t, err)
		assert.Equal(t, "token fleet-lab is already attached to cluster robot-cluster-2 "+
			"(namespace ros-default); nothing changed\n", stdout)
	})

	t.Run("attach --namespace needs a namespace that exists", func(t *testing.T) {
		_, _, err := f.cli(t, "token", "attach", lab.Name, "--cluster", fleetCluster2,
			"--namespace", "ros-missing")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "namespace ros-missing does not exist in cluster "+
			"robot-cluster-2: create it first")
	})

	t.Run("a Secret of the same name that is not ours is refused and left unchanged",
		func(t *testing.T) {
			foreign := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "fleet-planning"},
				Type:       corev1.SecretTypeOpaque,
				Data:       map[string][]byte{"note": []byte("written by hand")},
			}
			for _, namespace := range []string{workload, f.store} {
				created, err := f.second.CoreV1().Secrets(namespace).Create(ctx,
					foreign.DeepCopy(), metav1.CreateOptions{})
				require.NoError(t, err)

				args := []string{"token", "attach", "fleet-planning", "--cluster",
					fleetCluster2, "-n", namespace}
				_, _, err = f.cli(t, args...)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "refusing to overwrite Secret "+namespace+
					"/fleet-planning in cluster robot-cluster-2: it was not written by "+
					"kuberos-registry")

				args[1] = "detach"
				_, _, err = f.cli(t, args...)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "refusing to delete Secret "+namespace+
					"/fleet-planning in cluster robot-cluster-2")

				after, err := f.second.CoreV1().Secrets(namespace).Get(ctx, "fleet-planning",
					metav1.GetOptions{})
				require.NoError(t, err)
				assert.Equal(t, created.ResourceVersion, after.ResourceVersion)
				assert.Equal(t, created.Data, after.Data)
				assert.Equal(t, created.Labels, after.Labels)
			}
		})

	t.Run("cluster list counts the attached token", func(t *testing.T) {
		stdout, _, err := f.cli(t, "cluster", "list")
		require.NoError(t, err)
		golden(t, "cluster-list-attached.txt", normalizeClusterTable(t, stdout))
	})

	t.Run("detach deletes the copy, then the token, and says when there is nothing",
		func(t *testing.T) {
			stdout, _, err := f.cli(t, "token", "detach", lab.Name, "--cluster", fleetCluster2,
				"--namespace", workload)
			require.NoError(t, err)
			assert.Equal(t, "token fleet-lab detached from cluster robot-cluster-2 (namespace "+
				"ros-default): deleted Secret ros-default/fleet-lab\n", stdout)
			requireNoFleetSecret(t, f.second, workload, lab.Name)

			stdout, _, err = f.cli(t, "token", "detach", lab.Name, "--cluster", fleetCluster2)
			require.NoError(t, err)
			assert.Equal(t, "token fleet-lab detached from cluster robot-cluster-2 (store "+
				f.store+"): deleted Secret "+f.store+"/fleet-lab\n", stdout)
			requireNoFleetSecret(t, f.second, f.store, lab.Name)

			for _, extra := range [][]string{{"--namespace", workload}, nil} {
				args := append([]string{"token", "detach", lab.Name, "--cluster",
					fleetCluster2}, extra...)
				stdout, _, err = f.cli(t, args...)
				require.NoError(t, err, "detaching what is not attached is a no-op")
				assert.Contains(t, stdout, "token fleet-lab is not attached to cluster "+
					"robot-cluster-2")
				assert.Contains(t, stdout, "nothing changed")
			}

			_, err = kube.CoreV1().Secrets(f.store).Get(ctx, lab.Name, metav1.GetOptions{})
			require.NoError(t, err, "the token itself stays in the first cluster")
		})

	t.Run("detach refuses the cluster the token is read from", func(t *testing.T) {
		_, _, err := f.cli(t, "token", "detach", lab.Name, "--cluster", fleetCluster1)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cluster robot-cluster-1 is the cluster tokens are "+
			"read from")
		_, err = kube.CoreV1().Secrets(f.store).Get(ctx, lab.Name, metav1.GetOptions{})
		require.NoError(t, err)
	})

	t.Run("attach fails clearly for a missing token, context or cluster", func(t *testing.T) {
		_, _, err := f.cli(t, "token", "attach", "fleet-none", "--cluster", fleetCluster2)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no token fleet-none in the store "+f.store)

		_, _, err = f.cli(t, "token", "attach", lab.Name, "--cluster", "robot-cluster-9")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `no context "robot-cluster-9" in the kubeconfig`)

		_, _, err = f.cli(t, "token", "attach", lab.Name, "--cluster", fleetOffline)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cluster robot-cluster-offline")
		assert.Contains(t, err.Error(), "connection refused")

		_, _, err = f.cli(t, "token", "attach", lab.Name)
		require.Error(t, err, "--cluster is required")
	})
}

// requireNoFleetSecret asserts that the cluster holds no Secret of that name in the namespace.
func requireNoFleetSecret(t *testing.T, cs *kubernetes.Clientset, namespace, name string) {
	t.Helper()
	_, err := cs.CoreV1().Secrets(namespace).Get(context.Background(), name,
		metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "want no Secret %s/%s, got err=%v",
		namespace, name, err)
}
