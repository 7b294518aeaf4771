package token

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

const storeNamespace = "kuberos-registry"

// secret is a Secret in the namespace with the labels and annotations given.
func secret(namespace, name string, labels, annotations map[string]string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
	}
}

func storeToken(name string) *corev1.Secret {
	return secret(storeNamespace, name, contract.TokenLabels(), nil)
}

func allowing(value string) *corev1.Secret {
	return secret(storeNamespace, "t", contract.TokenLabels(),
		map[string]string{contract.AllowedNamespaces: value})
}

func TestAllows(t *testing.T) {
	tests := []struct {
		name      string
		token     *corev1.Secret
		namespace string
		want      bool
	}{
		{name: "a token without the annotation allows every namespace",
			token: storeToken("t"), namespace: "anything", want: true},
		{name: "a token with only other annotations allows every namespace",
			token: secret(storeNamespace, "t", contract.TokenLabels(),
				map[string]string{contract.RegistryURL: "registry.example.com"}),
			namespace: "ros-default", want: true},
		{name: "an exact name allows that namespace",
			token: allowing("ros-default"), namespace: "ros-default", want: true},
		{name: "an exact name does not allow another namespace",
			token: allowing("ros-default"), namespace: "ros-default-2"},
		{name: "an exact name does not allow a prefix of it",
			token: allowing("ros-default"), namespace: "ros"},
		{name: "any of several names allows",
			token: allowing("team-a,ros-default,team-b"), namespace: "ros-default", want: true},
		{name: "a pattern allows a namespace it matches",
			token: allowing("team-a-*"), namespace: "team-a-dev", want: true},
		{name: "a pattern does not allow a namespace of another team",
			token: allowing("team-a-*"), namespace: "team-b-dev"},
		{name: "a pattern does not allow the name without its separator",
			token: allowing("team-a-*"), namespace: "team-a"},
		{name: "a pattern matches the whole name, not a part of it",
			token: allowing("team-a-*"), namespace: "x-team-a-dev"},
		{name: "a lone star allows every namespace",
			token: allowing("*"), namespace: "ros-default", want: true},
		{name: "spaces around items are ignored",
			token: allowing("  team-b , ros-default  "), namespace: "ros-default", want: true},
		{name: "empty items between commas are ignored",
			token: allowing(",, ,ros-default,,"), namespace: "ros-default", want: true},
		{name: "an empty annotation allows no namespace",
			token: allowing(""), namespace: "ros-default"},
		{name: "an annotation of commas and spaces allows no namespace",
			token: allowing(" , ,"), namespace: "ros-default"},
		{name: "a malformed pattern allows nothing",
			token: allowing("team-[a"), namespace: "team-a"},
		{name: "a malformed pattern does not match itself",
			token: allowing("team-["), namespace: "team-["},
		{name: "a malformed pattern does not stop a valid item from allowing",
			token: allowing("team-[, ros-default"), namespace: "ros-default", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Allows(tt.token, tt.namespace))
		})
	}
}

func TestAllowedPatterns(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{name: "an empty value has no patterns", value: ""},
		{name: "a value of commas and spaces has no patterns", value: " , ,, "},
		{name: "one name is one pattern", value: "ros-default", want: []string{"ros-default"}},
		{
			name:  "items are trimmed and kept in order",
			value: " team-b-* ,ros-default,  team-a ",
			want:  []string{"team-b-*", "ros-default", "team-a"},
		},
		{
			name:  "empty items are dropped",
			value: ",team-a,,team-b,",
			want:  []string{"team-a", "team-b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, AllowedPatterns(tt.value))
		})
	}
}

func TestIsTokenAndIsCopy(t *testing.T) {
	tests := []struct {
		name      string
		labels    map[string]string
		wantToken bool
		wantCopy  bool
	}{
		{name: "the token labels make a token", labels: contract.TokenLabels(), wantToken: true},
		{name: "the mirror labels make a copy", labels: contract.MirrorLabels("t"),
			wantCopy: true},
		{name: "a Secret without labels is neither"},
		{
			name:   "the role without managed-by is neither",
			labels: map[string]string{contract.Role: contract.RoleToken},
		},
		{
			name: "a token role managed by another tool is not a token",
			labels: map[string]string{contract.ManagedBy: "helm",
				contract.Role: contract.RoleToken},
		},
		{
			name:   "managed-by without a role is neither",
			labels: map[string]string{contract.ManagedBy: contract.ManagedByValue},
		},
		{
			name: "a mirror role without the token label is not a copy",
			labels: map[string]string{contract.ManagedBy: contract.ManagedByValue,
				contract.Role: contract.RoleMirror},
		},
		{
			name: "a mirror role with an empty token label is not a copy",
			labels: map[string]string{contract.ManagedBy: contract.ManagedByValue,
				contract.Role: contract.RoleMirror, contract.Token: ""},
		},
		{
			name: "a mirror role managed by another tool is not a copy",
			labels: map[string]string{contract.ManagedBy: "helm",
				contract.Role: contract.RoleMirror, contract.Token: "t"},
		},
		{
			name: "an unknown role is neither",
			labels: map[string]string{contract.ManagedBy: contract.ManagedByValue,
				contract.Role: "other", contract.Token: "t"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := secret("ns", "t", tt.labels, nil)
			assert.Equal(t, tt.wantToken, IsToken(s), "IsToken")
			assert.Equal(t, tt.wantCopy, IsCopy(s), "IsCopy")
		})
	}
}

func TestRegistryURL(t *testing.T) {
	withURL := secret(storeNamespace, "t", contract.TokenLabels(),
		map[string]string{contract.RegistryURL: "registry.example.com/team"})
	assert.Equal(t, "registry.example.com/team", RegistryURL(withURL))
	assert.Empty(t, RegistryURL(storeToken("t")), "a token without the annotation has none")
}

func TestNewCopy(t *testing.T) {
	tests := []struct {
		name            string
		annotations     map[string]string
		wantAnnotations map[string]string
	}{
		{
			name: "a copy carries the registry URL and no other annotation of the token",
			annotations: map[string]string{
				contract.RegistryURL:       "registry.example.com",
				contract.UserName:          "robot",
				contract.Description:       "test token",
				contract.AllowedNamespaces: "ros-*",
			},
			wantAnnotations: map[string]string{contract.RegistryURL: "registry.example.com"},
		},
		{
			name:            "a copy of a token without a registry URL has no annotations",
			wantAnnotations: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			source := secret(storeNamespace, "my-token", contract.TokenLabels(), tt.annotations)
			source.Data["other"] = []byte("value")

			copied := NewCopy(source, "ros-default")

			assert.Equal(t, "my-token", copied.Name)
			assert.Equal(t, "ros-default", copied.Namespace)
			assert.Equal(t, contract.MirrorLabels("my-token"), copied.Labels)
			assert.True(t, IsCopy(copied))
			assert.False(t, IsToken(copied))
			assert.Equal(t, tt.wantAnnotations, copied.Annotations)
			assert.Equal(t, source.Type, copied.Type)
			assert.Equal(t, source.Data, copied.Data)
			assert.Equal(t, contract.TokenLabels(), source.Labels, "the token keeps its labels")

			want := map[string][]byte{
				corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`),
				"other":                    []byte("value"),
			}
			copied.Data["added"] = []byte("x")
			copied.Data[corev1.DockerConfigJsonKey] = []byte("replaced")
			delete(copied.Data, "other")
			assert.Equal(t, want, source.Data, "changing the copy's data leaves the token's")
		})
	}
}

func newReader(objects ...client.Object) client.Reader {
	return fake.NewClientBuilder().WithObjects(objects...).Build()
}

func TestStoreGet(t *testing.T) {
	tests := []struct {
		name   string
		cached []client.Object
		live   []client.Object
		get    string
		want   string // the name of the token returned; empty for nil
	}{
		{
			name:   "a token in the cache is returned",
			cached: []client.Object{storeToken("a"), storeToken("b")},
			get:    "b",
			want:   "b",
		},
		{
			name: "the live reader is used when the cached one misses",
			live: []client.Object{storeToken("a")},
			get:  "a",
			want: "a",
		},
		{
			name: "a name found nowhere is no token",
			live: []client.Object{storeToken("a")},
			get:  "b",
		},
		{
			name:   "a Secret of that name without token labels is not a token",
			cached: []client.Object{secret(storeNamespace, "a", nil, nil)},
			get:    "a",
		},
		{
			name: "a live Secret of that name without token labels is not a token",
			live: []client.Object{secret(storeNamespace, "a", nil, nil)},
			get:  "a",
		},
		{
			name: "a copy in the store namespace is not a token",
			cached: []client.Object{
				secret(storeNamespace, "a", contract.MirrorLabels("a"), nil)},
			get: "a",
		},
		{
			name:   "a token of that name in another namespace is not in the store",
			cached: []client.Object{secret("other", "a", contract.TokenLabels(), nil)},
			live:   []client.Object{secret("other", "a", contract.TokenLabels(), nil)},
			get:    "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(newReader(tt.cached...), newReader(tt.live...), storeNamespace)

			got, err := s.Get(t.Context(), tt.get)

			require.NoError(t, err)
			if tt.want == "" {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tt.want, got.Name)
			assert.Equal(t, storeNamespace, got.Namespace)
			assert.True(t, IsToken(got))
		})
	}
}

func TestStoreWithoutALiveReaderReadsTheCache(t *testing.T) {
	s := NewStore(newReader(storeToken("a")), nil, storeNamespace)

	got, err := s.Get(t.Context(), "a")
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, "a", got.Name)

	missing, err := s.Get(t.Context(), "b")
	require.NoError(t, err)
	assert.Nil(t, missing)
	assert.Equal(t, storeNamespace, s.Namespace())
}

func TestStoreList(t *testing.T) {
	tests := []struct {
		name    string
		objects []client.Object
		want    []string
	}{
		{name: "an empty store lists nothing", want: []string{}},
		{
			name:    "tokens are sorted by name",
			objects: []client.Object{storeToken("c"), storeToken("a"), storeToken("b")},
			want:    []string{"a", "b", "c"},
		},
		{
			name: "only labelled tokens of the store namespace are listed",
			objects: []client.Object{
				storeToken("z-token"),
				storeToken("a-token"),
				secret(storeNamespace, "unlabelled", nil, nil),
				secret(storeNamespace, "a-copy", contract.MirrorLabels("a-token"), nil),
				secret(storeNamespace, "half", map[string]string{
					contract.Role: contract.RoleToken}, nil),
				secret("ros-default", "elsewhere", contract.TokenLabels(), nil),
				secret("ros-default", "a-token", contract.MirrorLabels("a-token"), nil),
			},
			want: []string{"a-token", "z-token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(newReader(tt.objects...), nil, storeNamespace)

			got, err := s.List(t.Context())

			require.NoError(t, err)
			names := make([]string, 0, len(got))
			for _, token := range got {
				assert.Equal(t, storeNamespace, token.Namespace)
				names = append(names, token.Name)
			}
			assert.Equal(t, tt.want, names)
		})
	}
}
