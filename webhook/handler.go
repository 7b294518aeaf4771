package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// NewPodMutator returns the admission handler for Pod creations.
func NewPodMutator(opts Options) admission.Handler {
	if opts.OnMissingSecret == "" {
		opts.OnMissingSecret = Warn
	}
	if opts.APIReader == nil {
		opts.APIReader = opts.Client
	}
	return &podMutator{opts: opts}
}

type podMutator struct {
	opts Options
}

var _ admission.Handler = &podMutator{}

// Handle decides, patches, ensures the pull secrets, and reports.
func (m *podMutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create || req.Kind.Kind != "Pod" || req.SubResource != "" {
		admissions.WithLabelValues(resultSkipped).Inc()
		return admission.Allowed("only Pod creations are handled")
	}

	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		admissions.WithLabelValues(resultError).Inc()
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("failed to decode Pod: %w", err))
	}
	// Pods of controllers can arrive without a namespace in their object: the request has it.
	namespace := req.Namespace
	if namespace == "" {
		namespace = pod.Namespace
	}
	// The logger is built only when something is logged: most requests log nothing, and a
	// logger with values costs allocations on every request.
	log := func() logr.Logger {
		return logf.FromContext(ctx).WithValues("namespace", namespace, "pod", podName(pod))
	}

	if pod.Annotations[contract.Inject] == contract.InjectDisabled {
		log().V(1).Info("skipped Pod", "reason", "opted out")
		admissions.WithLabelValues(resultSkipped).Inc()
		return admission.Allowed("the Pod opted out")
	}
	ns, err := m.optedInNamespace(ctx, namespace)
	if err != nil {
		admissions.WithLabelValues(resultError).Inc()
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if ns == nil {
		log().V(1).Info("skipped Pod", "reason", "namespace not opted in")
		admissions.WithLabelValues(resultSkipped).Inc()
		return admission.Allowed("the namespace has not opted in")
	}

	// The store is listed only when a container falls back to matching its image.
	var listErr error
	tokens := func() ([]registry.Token, error) {
		tokens, err := m.allowedTokens(ctx, ns)
		listErr = err
		return tokens, err
	}
	resolved, err := registry.ResolveLazily(pod, m.opts.Cluster, tokens)
	if listErr != nil {
		admissions.WithLabelValues(resultError).Inc()
		return admission.Errored(http.StatusInternalServerError, listErr)
	}
	if err != nil {
		log().Info("denied Pod", "reason", err.Error())
		admissions.WithLabelValues(resultDenied).Inc()
		return admission.Denied(err.Error())
	}
	plan := planPatch(pod, resolved)

	dryRun := req.DryRun != nil && *req.DryRun
	warnings, err := m.ensureSecrets(ctx, ns, pod, plan.pullSecrets, dryRun)
	if err != nil {
		var denial *denialError
		if errors.As(err, &denial) {
			log().Info("denied Pod", "reason", denial.Error())
			admissions.WithLabelValues(resultDenied).Inc()
			return admission.Denied(denial.Error())
		}
		log().Error(err, "failed to ensure pull secrets")
		admissions.WithLabelValues(resultError).Inc()
		return admission.Errored(http.StatusInternalServerError, err)
	}

	if len(plan.ops) == 0 {
		admissions.WithLabelValues(resultUnchanged).Inc()
		return admission.Allowed("nothing to change").WithWarnings(warnings...)
	}
	if logger := log().V(1); logger.Enabled() {
		logger.Info("patched Pod", "injected", plan.injected, "secrets", plan.pullSecrets)
	}
	admissions.WithLabelValues(resultMutated).Inc()
	return admission.Patched("", plan.ops...).WithWarnings(warnings...)
}

// optedInNamespace returns the namespace when it opted in, and nil when it did not. It reads
// the cache, and the API server when the cache does not say yes: the request reached the
// webhook because the namespace carries the inject label, so a cache that disagrees is most
// likely behind a namespace created a moment ago.
func (m *podMutator) optedInNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{}
	err := m.opts.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
	if err == nil && isOptedIn(ns) {
		return ns, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("failed to read namespace %s: %w", name, err)
	}
	if err := m.opts.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to read namespace %s: %w", name, err)
	}
	if !isOptedIn(ns) {
		return nil, nil
	}
	return ns, nil
}

func isOptedIn(ns *corev1.Namespace) bool {
	return ns.Annotations[contract.Inject] == contract.InjectEnabled
}

// allowedTokens lists the tokens that may be copied into the namespace, for image-host
// matching.
func (m *podMutator) allowedTokens(
	ctx context.Context,
	ns *corev1.Namespace,
) ([]registry.Token, error) {
	secrets, err := m.opts.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	tokens := make([]registry.Token, 0, len(secrets))
	for i := range secrets {
		if token.CanCopy(&secrets[i], ns) {
			tokens = append(tokens, registry.Token{
				Name:        secrets[i].Name,
				RegistryURL: token.RegistryURL(&secrets[i]),
			})
		}
	}
	return tokens, nil
}

// podName names the Pod in logs and Events: generateName Pods have no name at admission.
func podName(pod *corev1.Pod) string {
	if pod.Name != "" {
		return pod.Name
	}
	return pod.GenerateName
}
