// Package registry decides which registry each container of a Pod pulls from: it parses the
// containerRegistry list and the containerRegistryName a KubeROS deployment carries in Pod
// annotations, reads the cluster-wide registry list given by --config, matches images against
// token registry URLs the way the kubelet matches .dockerconfigjson keys, and resolves every
// container to the pull secret and pull policy to inject.
//
// The package is pure logic. It makes no API calls, reads no Secrets and writes no patches:
// the webhook gives it a Pod, the cluster entries and the tokens allowed in the Pod's
// namespace, and turns the result into a patch and into Secret copies itself.
//
// Every error is meant to be shown to the user who wrote the manifest. It names the
// annotation or the --config file it comes from, the container when there is one, and what to
// write instead.
package registry
