// Package contract declares the names that make up kuberos-registry's API: the annotations and
// labels users and KubeROS write, the labels on the Secrets the system owns, the event reasons
// and the metric names. Every other package, the tests, the chart and the docs use these
// constants; nothing else spells them out.
package contract

// Prefix is the domain of every annotation and label the project defines.
const Prefix = "registry.kuberos.io/"

// Namespace and Pod keys.
const (
	// Inject is the namespace opt-in (annotation, and the label the controller keeps equal to
	// it) and the Pod opt-out (annotation).
	Inject = Prefix + "inject"
	// InjectEnabled is the only value of Inject that opts a namespace in.
	InjectEnabled = "enabled"
	// InjectDisabled on a Pod's Inject annotation makes the webhook leave the Pod alone.
	InjectDisabled = "disabled"

	// ContainerRegistry carries the deployment's containerRegistry list, YAML or JSON.
	ContainerRegistry = Prefix + "container-registry"
	// ContainerRegistryName carries the module's containerRegistryName: NAME, or
	// CONTAINER=NAME pairs with at most one bare NAME.
	ContainerRegistryName = Prefix + "container-registry-name"
	// Injected is written by the webhook: CONTAINER=REGISTRY pairs for what it resolved.
	Injected = Prefix + "injected"
	// AllowedTokens on a Namespace limits which tokens may be copied into it: token names or
	// * patterns, comma-separated. Absent means every token that allows the namespace. Only
	// whoever may edit the Namespace object can set it, not a tenant who may create Pods.
	AllowedTokens = Prefix + "allowed-tokens"
)

// Secret keys, for tokens in the store and their copies in workload namespaces.
const (
	// ManagedBy is the well-known label that marks every Secret the system owns.
	ManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedBy on those Secrets.
	ManagedByValue = "kuberos-registry"
	// Role tells a token from its copies.
	Role = Prefix + "role"
	// RoleToken marks a registry token in the store namespace.
	RoleToken = "token"
	// RoleMirror marks a copy of a token in a workload namespace.
	RoleMirror = "mirror"
	// Token on a copy names the token it was copied from.
	Token = Prefix + "token"

	// RegistryURL is the registry host, port and path prefix the token opens.
	RegistryURL = Prefix + "registry-url"
	// UserName is the registry user of the token.
	UserName = Prefix + "user-name"
	// Description is free text about the token.
	Description = Prefix + "description"
	// AllowedNamespaces limits where a token may be copied: names or * patterns,
	// comma-separated. Absent means every opted-in namespace.
	AllowedNamespaces = Prefix + "allowed-namespaces"
)

// Defaults of the contract.
const (
	// DefaultRegistryName is the registry a container uses when none is named, as in KubeROS.
	DefaultRegistryName = "default"
	// DefaultTokenNamespace is the store namespace when the webhook cannot tell its own.
	DefaultTokenNamespace = "kuberos-registry"
	// WebhookPath is where the Pod webhook is served.
	WebhookPath = "/mutate-v1-pod"
	// WebhookName is the name of the Pod webhook in its configuration; the CLI looks for it
	// to tell whether a cluster has the webhook installed.
	WebhookName = "pods.registry.kuberos.io"
	// FieldManager names the system in managedFields of what it writes.
	FieldManager = "kuberos-registry"
)

// Event reasons.
const (
	// ReasonSecretCopied: a token was copied into the Pod's namespace.
	ReasonSecretCopied = "SecretCopied"
	// ReasonSecretMissing: a pull secret exists nowhere and the Pod was admitted without it.
	ReasonSecretMissing = "PullSecretMissing"
	// ReasonTokenNotAllowed: the token exists but may not be copied into this namespace.
	ReasonTokenNotAllowed = "TokenNotAllowed"
	// ReasonCopyFailed: the copy could not be created.
	ReasonCopyFailed = "SecretCopyFailed"
	// ReasonCopySyncFailed: a copy could not be updated, created or deleted to follow its
	// token; the Event is on the token.
	ReasonCopySyncFailed = "CopySyncFailed"
)

// Metric names.
const (
	// MetricAdmissions counts Pod admission requests by result.
	MetricAdmissions = "kuberos_registry_admissions_total"
	// MetricSecretsCopied counts copies created by the webhook.
	MetricSecretsCopied = "kuberos_registry_secrets_copied_total"
	// MetricSecretsMissing counts pull secrets found nowhere.
	MetricSecretsMissing = "kuberos_registry_secrets_missing_total"
	// MetricCopies is the number of copies of each token, by token.
	MetricCopies = "kuberos_registry_copies"
	// MetricSyncErrors counts failures to bring a copy in step with its token, by token.
	MetricSyncErrors = "kuberos_registry_sync_errors_total"
)

// TokenLabels returns the labels every token Secret in the store carries.
func TokenLabels() map[string]string {
	return map[string]string{ManagedBy: ManagedByValue, Role: RoleToken}
}

// MirrorLabels returns the labels of a copy of the named token.
func MirrorLabels(token string) map[string]string {
	return map[string]string{ManagedBy: ManagedByValue, Role: RoleMirror, Token: token}
}
