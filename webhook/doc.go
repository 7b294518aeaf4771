// Package webhook is the Pod admission handler of kuberos-registry. On the creation of a Pod in
// an opted-in namespace it resolves each container's registry, patches the Pod's
// imagePullSecrets, pull policies and the injected annotation, and makes sure every pull
// secret exists in the namespace before the Pod is admitted. It does not keep copies in step
// with their tokens afterwards: the controllers do.
package webhook
