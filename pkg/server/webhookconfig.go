package server

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Names of the webhook configuration, for installs that do not choose their own.
const (
	// WebhookName is the name of the Pod webhook in its configuration.
	WebhookName = contract.WebhookName
	// DefaultConfigurationName names the MutatingWebhookConfiguration.
	DefaultConfigurationName = "kuberos-registry"
	// DefaultServiceName names the Service in front of the webhook.
	DefaultServiceName = "kuberos-registry-webhook"
)

// webhookTimeoutSeconds is the API server's budget for one call. The handler answers from
// caches in well under a second; creating a copy is one more API call.
const webhookTimeoutSeconds = 10

// MutatingWebhookConfiguration returns the webhook configuration the chart ships, for a
// webhook served by the Service of that name in the namespace. The end-to-end tests and the
// demo register exactly this object.
func MutatingWebhookConfiguration(
	name string,
	namespace string,
	service string,
) *admissionregistrationv1.MutatingWebhookConfiguration {
	path := contract.WebhookPath
	// Fail closed: in an opted-in namespace a Pod admitted without its Secret cannot pull.
	// The namespaceSelector keeps the webhook's own namespace and kube-system out, so a
	// webhook that is down never blocks the Pods that would bring it back.
	failurePolicy := admissionregistrationv1.Fail
	// Copies are written only when the request is not a dry-run.
	sideEffects := admissionregistrationv1.SideEffectClassNoneOnDryRun
	// Containers added by a later webhook get their pull secret too.
	reinvocation := admissionregistrationv1.IfNeededReinvocationPolicy
	// Pods sent through another version of the API are converted to v1 and still handled.
	matchPolicy := admissionregistrationv1.Equivalent
	timeout := int32(webhookTimeoutSeconds)
	scope := admissionregistrationv1.NamespacedScope

	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{
			APIVersion: admissionregistrationv1.SchemeGroupVersion.String(),
			Kind:       "MutatingWebhookConfiguration",
		},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    WebhookName,
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service: &admissionregistrationv1.ServiceReference{
					Name: service, Namespace: namespace, Path: &path,
				},
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{
					admissionregistrationv1.Create,
				},
				Rule: admissionregistrationv1.Rule{
					APIGroups:   []string{corev1.GroupName},
					APIVersions: []string{"v1"},
					Resources:   []string{"pods"},
					Scope:       &scope,
				},
			}},
			NamespaceSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key:      contract.Inject,
					Operator: metav1.LabelSelectorOpIn,
					Values:   []string{contract.InjectEnabled},
				}, {
					Key:      corev1.LabelMetadataName,
					Operator: metav1.LabelSelectorOpNotIn,
					Values:   []string{namespace, metav1.NamespaceSystem},
				}},
			},
			SideEffects:        &sideEffects,
			ReinvocationPolicy: &reinvocation,
			FailurePolicy:      &failurePolicy,
			MatchPolicy:        &matchPolicy,
			TimeoutSeconds:     &timeout,
		}},
	}
}
