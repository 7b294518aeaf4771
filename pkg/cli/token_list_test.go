package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// tokenTestSecret is a token of the store "store", its password tokenTestPassword unless
// password is given.
func tokenTestSecret(t *testing.T, name, allowed string, password ...string) *corev1.Secret {
	t.Helper()
	spec := token.Spec{Name: name, RegistryURL: "registry.example.com/team", UserName: "robot",
		Description: "unit test", Token: tokenTestPassword, AllowedNamespaces: allowed}
	if len(password) > 0 {
		spec.Token = password[0]
	}
	require.NoError(t, spec.Validate())
	secret, err := token.NewSecret(spec, "store")
	require.NoError(t, err)
	secret.UID = types.UID("uid-" + name)
	return secret
}

// tokenTestCopy is a labelled copy of the token in the namespace.
func tokenTestCopy(tok *corev1.Secret, namespace string) *corev1.Secret {
	c := token.NewCopy(tok, namespace)
	c.UID = types.UID("uid-" + namespace + "-" + tok.Name)
	return c
}

// tokenTestUnlabelled is a Secret of that name that is not a copy.
func tokenTestUnlabelled(namespace, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			UID: types.UID("uid-own-" + namespace)},
		Data: map[string][]byte{"own": []byte("data")},
	}
}

func TestListTokenSummaries(t *testing.T) {
	b := tokenTestSecret(t, "b-token", "")
	a := tokenTestSecret(t, "a-token", "ros-*")
	elsewhere := tokenTestSecret(t, "elsewhere", "")
	elsewhere.Namespace = "other-store"
	cs := fake.NewClientset(b, a, elsewhere,
		tokenTestCopy(a, "ros-2"), tokenTestCopy(a, "ros-1"), tokenTestCopy(b, "team"),
		tokenTestUnlabelled("ros-3", "a-token"))

	got, err := listTokenSummaries(t.Context(), cs, "store")

	require.NoError(t, err)
	require.Len(t, got, 2, "only the tokens of the store are listed")
	assert.Equal(t, "a-token", got[0].Name, "sorted by name")
	assert.Equal(t, 2, got[0].Copies, "an unlabelled Secret of the same name is no copy")
	assert.Equal(t, []string{"ros-1", "ros-2"}, got[0].CopyNamespaces)
	assert.Equal(t, []string{"ros-*"}, got[0].AllowedNamespaces)
	assert.Equal(t, "b-token", got[1].Name)
	assert.Equal(t, 1, got[1].Copies)
	assert.Nil(t, got[1].AllowedNamespaces, "no annotation: every opted-in namespace")
	assert.Equal(t, "robot", got[1].UserName)
	assert.Equal(t, "registry.example.com/team", got[1].RegistryURL)
}

func TestPrintTokenSummariesOfAnEmptyStore(t *testing.T) {
	tests := []struct {
		name       string
		output     string
		wantStdout string
		wantStderr string
	}{
		{name: "a table says so on standard error", output: outputTable,
			wantStderr: "No tokens found in namespace store.\n"},
		{name: "JSON is an empty list", output: outputJSON, wantStdout: "[]\n"},
		{name: "YAML is an empty list", output: outputYAML, wantStdout: "[]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, stdout, stderr := tokenTestOptions("store")

			require.NoError(t, printTokenSummaries(o, tt.output, []tokenSummary{}))

			assert.Equal(t, tt.wantStdout, stdout.String())
			assert.Equal(t, tt.wantStderr, stderr.String())
		})
	}
}

func TestDescribeToken(t *testing.T) {
	tok := tokenTestSecret(t, "lab", "ros-*")
	stale := tokenTestCopy(tokenTestSecret(t, "lab", "", "old-password"), "ros-stale")
	tests := []struct {
		name    string
		objects []runtime.Object
		want    []copyState
	}{
		{
			name:    "a token without copies has none",
			objects: []runtime.Object{tok},
			want:    []copyState{},
		},
		{
			name: "a copy equal to the token is in step",
			objects: []runtime.Object{tok, tokenTestCopy(tok, "ros-1"),
				tokenTestUnlabelled("ros-2", "lab")},
			want: []copyState{{Namespace: "ros-1", Name: "lab", InStep: true, Allowed: true}},
		},
		{
			name:    "a copy of other data is out of step",
			objects: []runtime.Object{tok, stale},
			want:    []copyState{{Namespace: "ros-stale", Name: "lab", Allowed: true}},
		},
		{
			name:    "a copy where the token is not allowed says so",
			objects: []runtime.Object{tok, tokenTestCopy(tok, "team-b")},
			want:    []copyState{{Namespace: "team-b", Name: "lab", InStep: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, _ := tokenTestOptions("store")
			cs := fake.NewClientset(tt.objects...)

			got, err := describeToken(t.Context(), cs, o, "lab")

			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Copies)
			assert.Equal(t, []string{"ros-*"}, got.AllowedNamespaces)
			assert.Equal(t, "unit test", got.Description)
		})
	}
}

func TestDescribeAnUnknownToken(t *testing.T) {
	notAToken := tokenTestUnlabelled("store", "lab")
	for name, objects := range map[string][]runtime.Object{
		"a missing token is an error that points to token list": nil,
		"a Secret that is not a token is not described":         {notAToken},
	} {
		t.Run(name, func(t *testing.T) {
			o, _, _ := tokenTestOptions("store")

			_, err := describeToken(t.Context(), fake.NewClientset(objects...), o, "lab")

			require.Error(t, err)
			assert.Equal(t, "no token lab in namespace store: see the tokens with "+
				"`kuberos-registry token list --token-namespace store`", err.Error())
		})
	}
}

func TestPrintTokenDetailsNeverShowsTheToken(t *testing.T) {
	o, stdout, _ := tokenTestOptions("store")
	tok := tokenTestSecret(t, "lab", "")
	cs := fake.NewClientset(tok, tokenTestCopy(tok, "ros-1"))
	details, err := describeToken(t.Context(), cs, o, "lab")
	require.NoError(t, err)

	require.NoError(t, printTokenDetails(o, details))
	for _, output := range []string{outputJSON, outputYAML} {
		require.NoError(t, printStructured(stdout, output, details))
	}

	assert.Contains(t, stdout.String(), "all opted-in namespaces")
	assert.Contains(t, stdout.String(), "ros-1")
	assert.NotContains(t, stdout.String(), tokenTestPassword)
	assert.NotContains(t, stdout.String(), string(tok.Data[corev1.DockerConfigJsonKey]))
	assert.NotContains(t, stdout.String(), "cm9ib3Q6", "no base64 auth of robot:...")
	assert.NotContains(t, stdout.String(), contract.ManagedBy, "no Secret is printed")
}
