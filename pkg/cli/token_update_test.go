package cli

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

func ptrString(s string) *string { return &s }

func TestApplyTokenChange(t *testing.T) {
	tests := []struct {
		name            string
		change          tokenChange
		wantChanges     []string
		wantData        bool
		wantURL         string
		wantUser        string
		wantPassword    string
		wantAnnotations map[string]string // annotations that must hold these values
		wantAbsent      []string          // annotations that must be absent
		wantErr         string
	}{
		{
			name:         "a new token rotates the password and keeps the rest",
			change:       tokenChange{token: ptrString("new-password")},
			wantChanges:  []string{"token rotated"},
			wantData:     true,
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: "new-password",
		},
		{
			name:         "the same token again changes nothing",
			change:       tokenChange{token: ptrString(tokenTestPassword)},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
		},
		{
			name:         "a new user name keeps the password",
			change:       tokenChange{userName: ptrString("robot-2")},
			wantChanges:  []string{"user name changed"},
			wantData:     true,
			wantURL:      "registry.example.com/team",
			wantUser:     "robot-2",
			wantPassword: tokenTestPassword,
		},
		{
			name:         "a new registry URL is normalized and keeps the password",
			change:       tokenChange{registryURL: ptrString("https://ghcr.io/kuberos/")},
			wantChanges:  []string{"registry URL changed"},
			wantData:     true,
			wantURL:      "ghcr.io/kuberos",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
		},
		{
			name: "the same registry URL written otherwise changes nothing",
			change: tokenChange{
				registryURL: ptrString("https://registry.example.com/team/")},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
		},
		{
			name: "several changes are listed in order",
			change: tokenChange{token: ptrString("p2"), userName: ptrString("robot-2"),
				description: ptrString("rotated")},
			wantChanges: []string{"token rotated", "user name changed",
				"description changed"},
			wantData:        true,
			wantURL:         "registry.example.com/team",
			wantUser:        "robot-2",
			wantPassword:    "p2",
			wantAnnotations: map[string]string{contract.Description: "rotated"},
		},
		{
			name:         "a description alone leaves the data alone",
			change:       tokenChange{description: ptrString("new text")},
			wantChanges:  []string{"description changed"},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
			wantAnnotations: map[string]string{
				contract.Description: "new text"},
		},
		{
			name:         "an empty description removes it",
			change:       tokenChange{description: ptrString("")},
			wantChanges:  []string{"description changed"},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
			wantAbsent:   []string{contract.Description},
		},
		{
			name:         "allowed namespaces are written trimmed",
			change:       tokenChange{allowedNamespaces: ptrString(" ros-a , ros-b")},
			wantChanges:  []string{"allowed namespaces changed"},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
			wantAnnotations: map[string]string{
				contract.AllowedNamespaces: "ros-a,ros-b"},
		},
		{
			name:         "empty allowed namespaces allow every namespace again",
			change:       tokenChange{allowedNamespaces: ptrString("")},
			wantChanges:  []string{"allowed namespaces changed"},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
			wantAbsent:   []string{contract.AllowedNamespaces},
		},
		{
			name:         "the same allowed namespaces change nothing",
			change:       tokenChange{allowedNamespaces: ptrString("ros-*")},
			wantURL:      "registry.example.com/team",
			wantUser:     "robot",
			wantPassword: tokenTestPassword,
		},
		{
			name:    "an unparsable registry URL is refused",
			change:  tokenChange{registryURL: ptrString("registry example.com")},
			wantErr: `registryUrl "registry example.com"`,
		},
		{
			name:    "an empty user name is refused",
			change:  tokenChange{userName: ptrString("")},
			wantErr: "userName: must not be empty",
		},
		{
			name:    "a malformed allowed pattern is refused",
			change:  tokenChange{allowedNamespaces: ptrString("[")},
			wantErr: `allowedNamespaces: "[" is not a name or a * pattern`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := tokenTestSecret(t, "lab", "ros-*")
			before := current.DeepCopy()

			got, err := applyTokenChange(current, tt.change)

			assert.Equal(t, before, current, "the token read is not changed in place")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantChanges, got.changes)
			assert.Equal(t, tt.wantData, got.dataChanged)
			assert.Equal(t, tt.wantURL, token.RegistryURL(got.secret))
			assert.Equal(t, tt.wantUser, got.secret.Annotations[contract.UserName])
			password, ok := storedPassword(got.secret)
			require.True(t, ok)
			assert.Equal(t, tt.wantPassword, password)
			if !tt.wantData {
				assert.Equal(t, before.Data, got.secret.Data)
			}
			for key, value := range tt.wantAnnotations {
				assert.Equal(t, value, got.secret.Annotations[key], key)
			}
			for _, key := range tt.wantAbsent {
				assert.NotContains(t, got.secret.Annotations, key)
			}
			assert.Equal(t, before.ResourceVersion, got.secret.ResourceVersion)

			again, err := applyTokenChange(got.secret, tt.change)
			require.NoError(t, err)
			assert.Empty(t, again.changes, "a second pass changes nothing")
		})
	}
}

func TestApplyTokenChangeWithoutAReadablePassword(t *testing.T) {
	current := tokenTestSecret(t, "lab", "")
	current.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`)

	_, err := applyTokenChange(current, tokenChange{userName: ptrString("robot-2")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "give the token again with --token-stdin")

	got, err := applyTokenChange(current, tokenChange{description: ptrString("kept data")})
	require.NoError(t, err, "a change that keeps the data needs no password")
	assert.Equal(t, current.Data, got.secret.Data)

	got, err = applyTokenChange(current, tokenChange{token: ptrString("p2")})
	require.NoError(t, err)
	password, ok := storedPassword(got.secret)
	require.True(t, ok)
	assert.Equal(t, "p2", password)
}

func TestStoredPassword(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("robot:from-auth"))
	tests := []struct {
		name   string
		url    string
		config string
		want   string
		wantOK bool
	}{
		{name: "the entry of the registry URL is used", url: "r.example.com",
			config: `{"auths":{"o.example.com":{"password":"other"},` +
				`"r.example.com":{"password":"mine"}}}`,
			want: "mine", wantOK: true},
		{name: "the only entry is used when the URL has none", url: "r.example.com",
			config: `{"auths":{"o.example.com":{"password":"only"}}}`,
			want:   "only", wantOK: true},
		{name: "the password in auth is used when there is no password field",
			url: "r.example.com", config: `{"auths":{"r.example.com":{"auth":"` + auth + `"}}}`,
			want: "from-auth", wantOK: true},
		{name: "several entries and none of the URL have no password", url: "r.example.com",
			config: `{"auths":{"a":{"password":"a"},"b":{"password":"b"}}}`},
		{name: "no entries have no password", url: "r.example.com", config: `{"auths":{}}`},
		{name: "data that is not JSON has no password", url: "r.example.com",
			config: `not json`},
		{name: "an auth that is not base64 has no password", url: "r.example.com",
			config: `{"auths":{"r.example.com":{"auth":"%%%"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{
					Annotations: map[string]string{contract.RegistryURL: tt.url}},
				Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(tt.config)},
			}

			got, ok := storedPassword(secret)

			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUpdateStoredTokenRemovesCopiesNoLongerAllowed(t *testing.T) {
	o, stdout, _ := tokenTestOptions("store")
	tok := tokenTestSecret(t, "lab", "")
	cs := fake.NewClientset(tok, tokenTestCopy(tok, "ros-1"), tokenTestCopy(tok, "team-b"),
		tokenTestUnlabelled("team-c", "lab"))

	err := updateStoredToken(t.Context(), cs, o, "lab",
		tokenChange{allowedNamespaces: ptrString("ros-*")})

	require.NoError(t, err)
	assert.Equal(t, "token lab updated: allowed namespaces changed\n"+
		"removed the copy from namespace team-b (no longer allowed)\n", stdout.String())
	_, err = cs.CoreV1().Secrets("team-b").Get(t.Context(), "lab", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	for _, namespace := range []string{"ros-1", "team-c"} {
		_, err = cs.CoreV1().Secrets(namespace).Get(t.Context(), "lab", metav1.GetOptions{})
		assert.NoError(t, err, "the Secret in %s stays", namespace)
	}
}

func TestUpdateStoredTokenReportsNoChange(t *testing.T) {
	o, stdout, _ := tokenTestOptions("store")
	cs := fake.NewClientset(tokenTestSecret(t, "lab", ""))

	err := updateStoredToken(t.Context(), cs, o, "lab",
		tokenChange{token: ptrString(tokenTestPassword)})

	require.NoError(t, err)
	assert.Equal(t, "token lab unchanged\n", stdout.String())
}

func TestDeleteStoredToken(t *testing.T) {
	o, stdout, _ := tokenTestOptions("store")
	tok := tokenTestSecret(t, "lab", "")
	other := tokenTestSecret(t, "other", "")
	cs := fake.NewClientset(tok, other, tokenTestCopy(tok, "ros-1"),
		tokenTestCopy(tok, "ros-2"), tokenTestCopy(other, "ros-1"),
		tokenTestUnlabelled("ros-3", "lab"))

	require.NoError(t, deleteStoredToken(t.Context(), cs, o, "lab"))

	assert.Equal(t, "token lab deleted, and 2 copies in 2 namespaces (ros-1, ros-2)\n",
		stdout.String())
	for _, namespace := range []string{"store", "ros-1", "ros-2"} {
		_, err := cs.CoreV1().Secrets(namespace).Get(t.Context(), "lab", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "lab in %s is gone", namespace)
	}
	_, err := cs.CoreV1().Secrets("ros-3").Get(t.Context(), "lab", metav1.GetOptions{})
	assert.NoError(t, err, "an unlabelled Secret of the same name stays")
	_, err = cs.CoreV1().Secrets("ros-1").Get(t.Context(), "other", metav1.GetOptions{})
	assert.NoError(t, err, "the copy of another token stays")

	err = deleteStoredToken(t.Context(), cs, o, "lab")
	require.Error(t, err, "a second delete finds no token")
	assert.Contains(t, err.Error(), "no token lab in namespace store")
}

func TestDeletedMessage(t *testing.T) {
	tests := []struct {
		name       string
		copies     int
		namespaces []string
		want       string
	}{
		{name: "no copies", want: "token lab deleted; it had no copies"},
		{name: "one copy", copies: 1, namespaces: []string{"ros"},
			want: "token lab deleted, and 1 copy in 1 namespace (ros)"},
		{name: "several copies, namespaces sorted", copies: 2, namespaces: []string{"b", "a"},
			want: "token lab deleted, and 2 copies in 2 namespaces (a, b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]bool{}
			for _, namespace := range tt.namespaces {
				set[namespace] = true
			}
			assert.Equal(t, tt.want, deletedMessage("lab", tt.copies, set))
		})
	}
}

func TestTokenUpdateRefusesBadUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{
			name: "no change is refused with the flags that exist",
			args: []string{"token", "update", "lab"},
			wantErr: "nothing to update: give -f FILE, or one or more of --token-stdin, " +
				"--user-name, --registry-url, --description, --allowed-namespaces",
		},
		{
			name:    "--token-stdin=false is no change",
			args:    []string{"token", "update", "lab", "--token-stdin=false"},
			wantErr: "nothing to update",
		},
		{
			name:    "a file and flags together are refused",
			args:    []string{"token", "update", "lab", "-f", "x.yaml", "--description", "d"},
			wantErr: "-f takes every field from the file: remove --description",
		},
		{
			name:    "a name is required",
			args:    []string{"token", "update", "--description", "d"},
			wantErr: "accepts 1 arg(s), received 0",
		},
		{
			name:    "--token is not the registry token, and the error says so",
			args:    []string{"token", "update", "lab", "--token", tokenTestPassword},
			wantErr: "pipe it in with --token-stdin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runTokenCommand(t, "", tt.args...)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), tokenTestPassword)
		})
	}
}
