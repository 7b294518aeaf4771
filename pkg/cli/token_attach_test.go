package cli

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

const attachTestStore = contract.DefaultTokenNamespace

// attachTestToken is a token of the store with the given password.
func attachTestToken(t *testing.T, password string) *corev1.Secret {
	t.Helper()
	secret, err := token.NewSecret(token.Spec{Name: "lab", RegistryURL: "registry.example.com",
		UserName: "robot", Token: password}, attachTestStore)
	require.NoError(t, err)
	return secret
}

func attachTestNamespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func TestAttachToken(t *testing.T) {
	source := attachTestToken(t, "first")
	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: "ros-default"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"note": []byte("by hand")},
	}
	storeForeign := foreign.DeepCopy()
	storeForeign.Namespace = attachTestStore
	restricted := source.DeepCopy()
	restricted.Annotations[contract.AllowedNamespaces] = "team-*"

	cases := []struct {
		name      string
		source    *corev1.Secret
		namespace string // empty: the store
		existing  []runtime.Object
		want      string
		wantErr   string
		wantData  []byte // the password of the Secret at the target afterwards, if any
	}{
		{
			name:   "a token is attached to a store that is created",
			source: source,
			want: "created namespace kuberos-registry in cluster c2\n" +
				"token lab attached to cluster c2 (store kuberos-registry)",
			wantData: []byte("first"),
		},
		{
			name:     "attaching twice changes nothing",
			source:   source,
			existing: []runtime.Object{attachTestNamespace(attachTestStore), source.DeepCopy()},
			want: "token lab is already attached to cluster c2 (store kuberos-registry); " +
				"nothing changed",
			wantData: []byte("first"),
		},
		{
			name:   "a token whose data changed is updated",
			source: attachTestToken(t, "second"),
			existing: []runtime.Object{attachTestNamespace(attachTestStore),
				source.DeepCopy()},
			want: "token lab updated in cluster c2 (store kuberos-registry): it differed " +
				"from the token",
			wantData: []byte("second"),
		},
		{
			name:      "a copy is written into a namespace",
			source:    source,
			namespace: "ros-default",
			existing:  []runtime.Object{attachTestNamespace("ros-default")},
			want:      "token lab attached to cluster c2 (namespace ros-default)",
			wantData:  []byte("first"),
		},
		{
			name:      "a copy is not written into a namespace that does not exist",
			source:    source,
			namespace: "ros-default",
			wantErr:   "namespace ros-default does not exist in cluster c2: create it first",
		},
		{
			name:      "a copy is not written where the token is not allowed",
			source:    restricted,
			namespace: "ros-default",
			existing:  []runtime.Object{attachTestNamespace("ros-default")},
			wantErr:   "token lab may not be copied into namespace ros-default (allowed: team-*)",
		},
		{
			name:      "a Secret without the copy labels is never overwritten",
			source:    source,
			namespace: "ros-default",
			existing:  []runtime.Object{attachTestNamespace("ros-default"), foreign},
			wantErr: "refusing to overwrite Secret ros-default/lab in cluster c2: it was not " +
				"written by kuberos-registry (it lacks the labels " +
				"app.kubernetes.io/managed-by=kuberos-registry, registry.kuberos.io/role=mirror, " +
				"registry.kuberos.io/token=lab)",
		},
		{
			name:     "a Secret without the token labels in the store is never overwritten",
			source:   source,
			existing: []runtime.Object{attachTestNamespace(attachTestStore), storeForeign},
			wantErr:  "refusing to overwrite Secret kuberos-registry/lab in cluster c2",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(tc.existing...)
			target := attachTarget{cluster: "c2", client: cs, namespace: attachTestStore}
			if tc.namespace != "" {
				target.namespace, target.copy = tc.namespace, true
			}
			before, _ := cs.CoreV1().Secrets(target.namespace).Get(context.Background(), "lab",
				metav1.GetOptions{}) // absent before a first attach

			msg, err := attachToken(context.Background(), tc.source, target)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				after, _ := cs.CoreV1().Secrets(target.namespace).Get(context.Background(),
					"lab", metav1.GetOptions{}) // absent when nothing was there
				assert.Equal(t, before, after, "a refused attach changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, msg)
			assert.NotContains(t, msg, string(tc.wantData), "the token is never printed")

			got, err := cs.CoreV1().Secrets(target.namespace).Get(context.Background(), "lab",
				metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, attachTestToken(t, string(tc.wantData)).Data, got.Data)
			if target.copy {
				assert.Equal(t, contract.MirrorLabels("lab"), got.Labels)
			} else {
				assert.Equal(t, tc.source.Labels, got.Labels)
				assert.Equal(t, tc.source.Annotations, got.Annotations)
			}
		})
	}
}

func TestDetachToken(t *testing.T) {
	stored := attachTestToken(t, "first")
	copied := token.NewCopy(stored, "ros-default")
	otherCopy := token.NewCopy(stored, "ros-default")
	otherCopy.Labels[contract.Token] = "other"

	cases := []struct {
		name      string
		namespace string
		existing  []runtime.Object
		want      string
		wantErr   string
		remains   bool
	}{
		{"a token in the store is deleted", "", []runtime.Object{stored.DeepCopy()},
			"token lab detached from cluster c2 (store kuberos-registry): deleted Secret " +
				"kuberos-registry/lab", "", false},
		{"a copy in a namespace is deleted", "ros-default", []runtime.Object{copied.DeepCopy()},
			"token lab detached from cluster c2 (namespace ros-default): deleted Secret " +
				"ros-default/lab", "", false},
		{"a token that is not attached changes nothing", "", nil,
			"token lab is not attached to cluster c2 (store kuberos-registry); nothing changed",
			"", false},
		{"a copy of another token is never deleted", "ros-default",
			[]runtime.Object{otherCopy}, "", "refusing to delete Secret ros-default/lab", true},
		{"a token in a namespace is not a copy and is never deleted", "ros-default",
			[]runtime.Object{func() *corev1.Secret {
				s := stored.DeepCopy()
				s.Namespace = "ros-default"
				return s
			}()}, "", "refusing to delete Secret ros-default/lab", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(tc.existing...)
			target := attachTarget{cluster: "c2", client: cs, namespace: attachTestStore}
			if tc.namespace != "" {
				target.namespace, target.copy = tc.namespace, true
			}

			msg, err := detachToken(context.Background(), "lab", target)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.want, msg)
			}
			_, err = cs.CoreV1().Secrets(target.namespace).Get(context.Background(), "lab",
				metav1.GetOptions{})
			assert.Equal(t, tc.remains, err == nil, "err=%v", err)
			if !tc.remains {
				assert.True(t, apierrors.IsNotFound(err))
			}
		})
	}
}
