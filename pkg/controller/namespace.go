package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// NamespaceReconciler copies the inject annotation of a namespace to its inject label: the
// label is added, changed and removed with the annotation. A value that cannot be a label
// value removes the label, which keeps the namespace out of the webhook's reach, the safe
// side since only "enabled" opts in.
type NamespaceReconciler struct {
	Client client.Client
}

// SetupWithManager registers the reconciler. It only wakes for namespaces whose label and
// annotation disagree.
func (r *NamespaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	disagree := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return needsLabel(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return needsLabel(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return needsLabel(e.Object) },
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("namespace-inject-label").
		For(&corev1.Namespace{}, builder.WithPredicates(disagree)).
		Complete(r)
}

// Reconcile patches the label to match the annotation.
func (r *NamespaceReconciler) Reconcile(
	ctx context.Context,
	req reconcile.Request,
) (reconcile.Result, error) {
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, req.NamespacedName, ns); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !needsLabel(ns) {
		return reconcile.Result{}, nil
	}

	want, ok := desiredLabel(ns)
	patched := ns.DeepCopy()
	if patched.Labels == nil {
		patched.Labels = map[string]string{}
	}
	if ok {
		patched.Labels[contract.Inject] = want
	} else {
		delete(patched.Labels, contract.Inject)
	}
	// An optimistic lock: a namespace changed meanwhile is read again on the next event.
	patch := client.MergeFromWithOptions(ns, client.MergeFromWithOptimisticLock{})
	if err := r.Client.Patch(ctx, patched, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil // deleted meanwhile: nothing left to label
		}
		return reconcile.Result{}, fmt.Errorf("failed to label namespace %s: %w", ns.Name, err)
	}
	logf.FromContext(ctx).Info("set the inject label of the namespace",
		"namespace", ns.Name, "value", want, "removed", !ok)
	return reconcile.Result{}, nil
}

// desiredLabel returns the label value the annotation asks for, and false when the label
// must be absent.
func desiredLabel(ns client.Object) (string, bool) {
	value, ok := ns.GetAnnotations()[contract.Inject]
	if !ok || value == "" || len(validation.IsValidLabelValue(value)) > 0 {
		return "", false
	}
	return value, true
}

func needsLabel(ns client.Object) bool {
	want, ok := desiredLabel(ns)
	have, has := ns.GetLabels()[contract.Inject]
	return ok != has || want != have
}
