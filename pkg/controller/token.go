package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// TokenReconciler keeps every copy of a token in step with it. A request for the store
// namespace syncs every copy of the token: changed data reaches them all, a deleted token
// takes them all with it, and a namespace the token no longer allows loses its copy. A
// request for another namespace syncs the one copy there: a copy edited by hand is restored,
// and a copy deleted while Pods of its namespace still reference it is recreated. Only
// Secrets that carry the copy labels are ever updated or deleted.
type TokenReconciler struct {
	// Client reads Secrets from the cache, which holds only Secrets the system owns.
	Client client.Client
	// APIReader lists Pods, which are not cached.
	APIReader client.Reader
	// TokenNamespace is the store.
	TokenNamespace string
	// Recorder emits Events on the token when a copy cannot follow it; nil emits none.
	Recorder events.EventRecorder
	// MaxConcurrentReconciles defaults to 4.
	MaxConcurrentReconciles int
}

// SetupWithManager registers the reconciler. Tokens and copies both map to requests; other
// Secrets never reach it because the cache holds only the system's own.
func (r *TokenReconciler) SetupWithManager(mgr ctrl.Manager) error {
	workers := r.MaxConcurrentReconciles
	if workers == 0 {
		workers = 4
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("token-copies").
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.requestsFor)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.requestsForNamespace),
			builder.WithPredicates(allowedTokensChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// requestsFor maps a token to a request in the store namespace and a copy to a request in
// its own namespace, both named after the token.
func (r *TokenReconciler) requestsFor(_ context.Context, obj client.Object) []reconcile.Request {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return nil
	}
	switch {
	case token.IsToken(secret) && secret.Namespace == r.TokenNamespace:
		return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(secret)}}
	case token.IsCopy(secret) && secret.Namespace != r.TokenNamespace:
		return []reconcile.Request{{NamespacedName: types.NamespacedName{
			Namespace: secret.Namespace, Name: secret.Labels[contract.Token],
		}}}
	}
	return nil
}

// allowedTokensChanged passes namespace updates that change the allowed-tokens annotation.
var allowedTokensChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[contract.AllowedTokens] !=
			e.ObjectNew.GetAnnotations()[contract.AllowedTokens]
	},
}

// requestsForNamespace maps a namespace whose allowed tokens changed to its copies.
func (r *TokenReconciler) requestsForNamespace(
	ctx context.Context,
	obj client.Object,
) []reconcile.Request {
	list := &corev1.SecretList{}
	err := r.Client.List(ctx, list, client.InNamespace(obj.GetName()), client.MatchingLabels{
		contract.ManagedBy: contract.ManagedByValue, contract.Role: contract.RoleMirror,
	})
	if err != nil {
		logf.FromContext(ctx).Error(err, "failed to list the copies of a namespace",
			"namespace", obj.GetName())
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		requests = append(requests, r.requestsFor(ctx, &list.Items[i])...)
	}
	return requests
}

// Reconcile syncs all copies of a token, or one copy.
func (r *TokenReconciler) Reconcile(
	ctx context.Context,
	req reconcile.Request,
) (reconcile.Result, error) {
	source, err := r.readToken(ctx, req.Name)
	if err != nil {
		return reconcile.Result{}, err
	}
	if req.Namespace == r.TokenNamespace {
		err = r.syncAll(ctx, req.Name, source)
	} else {
		err = r.syncOne(ctx, req.Namespace, req.Name, source)
	}
	if err != nil {
		syncErrors.WithLabelValues(req.Name).Inc()
		if source != nil && r.Recorder != nil {
			r.Recorder.Eventf(source, nil, corev1.EventTypeWarning,
				contract.ReasonCopySyncFailed, "Sync", "%s", err.Error())
		}
	}
	return reconcile.Result{}, err
}

// readToken returns the token, or nil when the store holds none of that name.
func (r *TokenReconciler) readToken(ctx context.Context, name string) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.TokenNamespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read token %s/%s: %w", r.TokenNamespace, name, err)
	}
	if !token.IsToken(secret) {
		return nil, nil
	}
	return secret, nil
}

// syncAll brings every copy of the token in step, or deletes them all when it is gone.
func (r *TokenReconciler) syncAll(ctx context.Context, name string, source *corev1.Secret) error {
	list := &corev1.SecretList{}
	err := r.Client.List(ctx, list, client.MatchingLabels(contract.MirrorLabels(name)))
	if err != nil {
		return fmt.Errorf("failed to list the copies of token %s: %w", name, err)
	}
	// Copies are independent: a bounded pool writes them in parallel, so that a rotation
	// reaches a thousand namespaces in seconds rather than one API round trip after another.
	var (
		mu   sync.Mutex
		errs []error
		kept int
		wg   sync.WaitGroup
		next = make(chan *corev1.Secret)
	)
	for range syncWorkers {
		wg.Go(func() {
			for copied := range next {
				deleted, err := r.syncCopy(ctx, copied, source)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				if !deleted {
					kept++
				}
				mu.Unlock()
			}
		})
	}
	for i := range list.Items {
		copied := &list.Items[i]
		if copied.Namespace != r.TokenNamespace && copied.Name == name {
			next <- copied
		}
	}
	close(next)
	wg.Wait()
	if source == nil {
		copies.DeleteLabelValues(name)
	} else {
		copies.WithLabelValues(name).Set(float64(kept))
	}
	return errors.Join(errs...)
}

// syncWorkers bounds the copies one token sync writes at once.
const syncWorkers = 8

// syncOne brings the copy in the namespace in step, and recreates it when it was deleted
// while Pods of the namespace still reference it.
func (r *TokenReconciler) syncOne(
	ctx context.Context,
	namespace, name string,
	source *corev1.Secret,
) error {
	copied := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, copied)
	if err == nil && token.IsCopy(copied) {
		_, err = r.syncCopy(ctx, copied, source)
		return err
	}
	if !apierrors.IsNotFound(err) {
		if err != nil {
			return fmt.Errorf("failed to read Secret %s/%s: %w", namespace, name, err)
		}
		return nil // a Secret of that name that is not ours: never touched
	}
	if source == nil || !token.Allows(source, namespace) {
		return nil
	}
	if accepts, err := r.namespaceAccepts(ctx, namespace, name); err != nil || !accepts {
		return err
	}
	referenced, err := r.isReferenced(ctx, namespace, name)
	if err != nil || !referenced {
		return err
	}
	err = r.Client.Create(ctx, token.NewCopy(source, namespace),
		client.FieldOwner(contract.FieldManager))
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to recreate Secret %s/%s: %w", namespace, name, err)
	}
	logf.FromContext(ctx).Info("recreated a deleted copy that Pods still reference",
		"namespace", namespace, "secret", name)
	return nil
}

// syncCopy deletes the copy when its token is gone or no longer allows the namespace, and
// otherwise restores the token's type and data. It reports whether the copy was deleted.
func (r *TokenReconciler) syncCopy(
	ctx context.Context,
	copied *corev1.Secret,
	source *corev1.Secret,
) (bool, error) {
	log := logf.FromContext(ctx).WithValues("namespace", copied.Namespace, "secret", copied.Name)
	accepts := true
	if source != nil {
		var err error
		if accepts, err = r.namespaceAccepts(ctx, copied.Namespace, source.Name); err != nil {
			return false, err
		}
	}
	if source == nil || !token.Allows(source, copied.Namespace) || !accepts {
		reason := "token deleted"
		switch {
		case source != nil && !accepts:
			reason = "the namespace does not accept the token"
		case source != nil:
			reason = "namespace no longer allowed"
		}
		// Deleting with the read UID and version only removes the copy that was checked.
		err := r.Client.Delete(ctx, copied, client.Preconditions{
			UID: &copied.UID, ResourceVersion: &copied.ResourceVersion,
		})
		if client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("failed to delete Secret %s/%s: %w",
				copied.Namespace, copied.Name, err)
		}
		log.Info("deleted a copy", "reason", reason)
		return true, nil
	}
	if isInStep(copied, source) {
		return false, nil
	}
	updated := copied.DeepCopy()
	want := token.NewCopy(source, copied.Namespace)
	updated.Type = want.Type
	updated.Data = want.Data
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	maps.Copy(updated.Annotations, want.Annotations)
	if updated.Type != copied.Type {
		// The type of a Secret is immutable: replace the copy.
		return r.replace(ctx, copied, want)
	}
	if err := r.Client.Update(ctx, updated, client.FieldOwner(contract.FieldManager)); err != nil {
		return false, fmt.Errorf("failed to update Secret %s/%s: %w",
			copied.Namespace, copied.Name, err)
	}
	log.Info("brought a copy in step with its token")
	return false, nil
}

func (r *TokenReconciler) replace(ctx context.Context, old, want *corev1.Secret) (bool, error) {
	err := r.Client.Delete(ctx, old, client.Preconditions{
		UID: &old.UID, ResourceVersion: &old.ResourceVersion,
	})
	if client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("failed to replace Secret %s/%s: %w", old.Namespace, old.Name, err)
	}
	err = r.Client.Create(ctx, want, client.FieldOwner(contract.FieldManager))
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("failed to replace Secret %s/%s: %w", old.Namespace, old.Name, err)
	}
	return false, nil
}

// namespaceAccepts reports whether the namespace's allowed-tokens annotation accepts the
// token. A namespace that is gone accepts nothing.
func (r *TokenReconciler) namespaceAccepts(
	ctx context.Context,
	namespace, tokenName string,
) (bool, error) {
	ns := &corev1.Namespace{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: namespace}, ns)
	if apierrors.IsNotFound(err) {
		// The cache may be behind a namespace created a moment ago: ask the API server
		// before deleting anything on its word.
		err = r.APIReader.Get(ctx, client.ObjectKey{Name: namespace}, ns)
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to read namespace %s: %w", namespace, err)
	}
	return token.NamespaceAllows(ns, tokenName), nil
}

// isInStep reports whether the copy has the token's type, data and registry URL.
func isInStep(copied, source *corev1.Secret) bool {
	if copied.Type != source.Type || len(copied.Data) != len(source.Data) ||
		copied.Annotations[contract.RegistryURL] != token.RegistryURL(source) {
		return false
	}
	for key, value := range source.Data {
		if !bytes.Equal(copied.Data[key], value) {
			return false
		}
	}
	return true
}

// isReferenced reports whether a Pod of the namespace that has not ended pulls with the
// Secret. Pods are not cached, so they are listed live, only on this rare path.
func (r *TokenReconciler) isReferenced(ctx context.Context, namespace, name string) (bool, error) {
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(namespace)); err != nil {
		return false, fmt.Errorf("failed to list the Pods of %s: %w", namespace, err)
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		pulls := func(ref corev1.LocalObjectReference) bool { return ref.Name == name }
		if slices.ContainsFunc(pod.Spec.ImagePullSecrets, pulls) {
			return true, nil
		}
	}
	return false, nil
}
