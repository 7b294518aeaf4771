package token

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Store reads the registry tokens of the store namespace.
type Store interface {
	// Get returns the token of that name, or nil when the store holds no token of that name.
	Get(ctx context.Context, name string) (*corev1.Secret, error)
	// List returns every token of the store, sorted by name.
	List(ctx context.Context) ([]corev1.Secret, error)
	// Namespace is the store namespace.
	Namespace() string
}

// NewStore returns a Store over the namespace. Reads go to cached first; a token the cache
// does not hold yet is read from live, so a token created a moment before the first Pod is
// still found. live may be nil when cached is not a cache.
func NewStore(cached, live client.Reader, namespace string) Store {
	if live == nil {
		live = cached
	}
	return &store{cached: cached, live: live, namespace: namespace}
}

type store struct {
	cached    client.Reader
	live      client.Reader
	namespace string
}

var _ Store = &store{}

func (s *store) Namespace() string { return s.namespace }

func (s *store) Get(ctx context.Context, name string) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: s.namespace, Name: name}
	secret := &corev1.Secret{}
	err := s.cached.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) && s.live != s.cached {
		err = s.live.Get(ctx, key, secret)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read token %s/%s: %w", s.namespace, name, err)
	}
	if !IsToken(secret) {
		// A Secret of that name without the token labels is not ours to hand out.
		return nil, nil
	}
	return secret, nil
}

func (s *store) List(ctx context.Context) ([]corev1.Secret, error) {
	list := &corev1.SecretList{}
	err := s.cached.List(ctx, list,
		client.InNamespace(s.namespace),
		client.MatchingLabels(contract.TokenLabels()))
	if err != nil {
		return nil, fmt.Errorf("failed to list tokens in %s: %w", s.namespace, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}
