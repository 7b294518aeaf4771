package token

import (
	"bytes"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// IsToken reports whether the Secret is a registry token of the contract.
func IsToken(secret *corev1.Secret) bool {
	return secret.Labels[contract.ManagedBy] == contract.ManagedByValue &&
		secret.Labels[contract.Role] == contract.RoleToken
}

// IsCopy reports whether the Secret is a copy made by the system, the only kind of Secret
// outside the store that it may update or delete.
func IsCopy(secret *corev1.Secret) bool {
	return secret.Labels[contract.ManagedBy] == contract.ManagedByValue &&
		secret.Labels[contract.Role] == contract.RoleMirror &&
		secret.Labels[contract.Token] != ""
}

// RegistryURL returns the registry URL the token opens, or "" when it has none.
func RegistryURL(token *corev1.Secret) string {
	return token.Annotations[contract.RegistryURL]
}

// NewCopy builds the copy of the token for the namespace: same name, type and data, the copy
// labels, and the registry URL so that a reader of the namespace can tell what it opens.
func NewCopy(token *corev1.Secret, namespace string) *corev1.Secret {
	annotations := map[string]string{}
	if url := RegistryURL(token); url != "" {
		annotations[contract.RegistryURL] = url
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        token.Name,
			Namespace:   namespace,
			Labels:      contract.MirrorLabels(token.Name),
			Annotations: annotations,
		},
		Type: token.Type,
		Data: cloneData(token.Data),
	}
}

// cloneData copies the values too, so that a change to the copy never reaches the token.
func cloneData(data map[string][]byte) map[string][]byte {
	cloned := make(map[string][]byte, len(data))
	for key, value := range data {
		cloned[key] = bytes.Clone(value)
	}
	return cloned
}
