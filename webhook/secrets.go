package webhook

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// denialError is a missing pull secret under the Deny policy: the Pod is refused with its
// message.
type denialError struct{ message string }

func (e *denialError) Error() string { return e.message }

// ensureSecrets makes sure each pull secret exists in the namespace before the Pod is
// admitted: an existing Secret of that name is left alone, an allowed token is copied, and
// anything else is a warning or, under Deny, a denial. On dry-run nothing is written.
func (m *podMutator) ensureSecrets(
	ctx context.Context,
	ns *corev1.Namespace,
	pod *corev1.Pod,
	names []string,
	dryRun bool,
) ([]string, error) {
	namespace := ns.Name
	var warnings, denials []string
	for _, name := range names {
		problem, err := m.ensureSecret(ctx, ns, pod, name, dryRun)
		if err != nil {
			return nil, err
		}
		if problem == "" {
			continue
		}
		secretsMissing.Inc()
		if m.opts.OnMissingSecret == Deny {
			denials = append(denials, problem)
			continue
		}
		warnings = append(warnings, problem)
		m.event(pod, namespace, corev1.EventTypeWarning, contract.ReasonSecretMissing, problem)
	}
	if len(denials) > 0 {
		return nil, &denialError{message: strings.Join(denials, "; ")}
	}
	return warnings, nil
}

// ensureSecret returns a problem for the user when the Secret exists nowhere, and an error
// when the API server could not be asked or the copy could not be written.
func (m *podMutator) ensureSecret(
	ctx context.Context,
	ns *corev1.Namespace,
	pod *corev1.Pod,
	name string,
	dryRun bool,
) (string, error) {
	namespace := ns.Name
	log := func() logr.Logger {
		return logf.FromContext(ctx).WithValues("namespace", namespace, "secret", name)
	}

	// The fast path: a copy the cache already holds.
	existing := &corev1.Secret{}
	err := m.opts.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, existing)
	if err == nil && token.IsCopy(existing) {
		return "", nil
	}

	source, err := m.opts.Store.Get(ctx, name)
	if err != nil {
		return "", err
	}
	if source != nil && token.CanCopy(source, ns) {
		if dryRun {
			return "", nil
		}
		return "", m.createCopy(ctx, namespace, pod, source)
	}

	// No token to copy: a Secret the user made is as good as ours.
	err = m.opts.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, existing)
	if err == nil {
		return "", nil
	}
	if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("failed to read Secret %s/%s: %w", namespace, name, err)
	}
	if source != nil && !token.NamespaceAllows(ns, name) {
		log().Info("token not accepted by the namespace", "reason", "allowed-tokens")
		return notAcceptedMessage(ns, name), nil
	}
	if source != nil {
		log().Info("token not allowed in namespace", "reason", "allowed-namespaces")
		return notAllowedMessage(namespace, name, m.opts.Store.Namespace(), source), nil
	}
	log().Info("pull secret missing", "reason", "no Secret and no token of that name")
	return missingMessage(namespace, name, m.opts.Store.Namespace()), nil
}

// createCopy creates the copy. Concurrent admissions race safely: AlreadyExists means another
// replica or request won, or a Secret of that name already exists, which is never modified.
func (m *podMutator) createCopy(
	ctx context.Context,
	namespace string,
	pod *corev1.Pod,
	source *corev1.Secret,
) error {
	copied := token.NewCopy(source, namespace)
	err := m.opts.Client.Create(ctx, copied, client.FieldOwner(contract.FieldManager))
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		m.event(pod, namespace, corev1.EventTypeWarning, contract.ReasonCopyFailed,
			fmt.Sprintf("failed to copy token %s into namespace %s", source.Name, namespace))
		return fmt.Errorf("failed to create Secret %s/%s: %w", namespace, source.Name, err)
	}
	secretsCopied.Inc()
	logf.FromContext(ctx).Info("created a copy of the token",
		"namespace", namespace, "secret", source.Name)
	m.event(pod, namespace, corev1.EventTypeNormal, contract.ReasonSecretCopied,
		fmt.Sprintf("copied token %s into namespace %s", source.Name, namespace))
	return nil
}

func missingMessage(namespace, name, store string) string {
	return fmt.Sprintf("pull secret %q does not exist in namespace %s and the store %s "+
		"holds no token of that name: add it with `kuberos-registry --token-namespace %s "+
		"token create %s --registry-url REGISTRY --user-name USER --token-stdin`, "+
		"or create the Secret in %s", name, namespace, store, store, name, namespace)
}

func notAllowedMessage(namespace, name, store string, source *corev1.Secret) string {
	return fmt.Sprintf("pull secret %q does not exist in namespace %s and token %s/%s may "+
		"not be copied there: its annotation %s=%q does not include %s; add the namespace "+
		"to that annotation or use another token",
		name, namespace, store, name, contract.AllowedNamespaces,
		source.Annotations[contract.AllowedNamespaces], namespace)
}

func notAcceptedMessage(ns *corev1.Namespace, name string) string {
	return fmt.Sprintf("pull secret %q does not exist in namespace %s and token %s may not "+
		"be copied there: the namespace's annotation %s=%q does not include it; ask whoever "+
		"administers the namespace to add it", name, ns.Name, name, contract.AllowedTokens,
		ns.Annotations[contract.AllowedTokens])
}
