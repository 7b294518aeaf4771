package registry

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Container is the resolution of one container of a Pod: the pull secret to inject and the
// pull policy to set.
type Container struct {
	// Name is the container's name.
	Name string
	// Init is true for an init container.
	Init bool
	// Registry is the name of the entry that resolved the container, or the token's name when
	// the container was matched by its image's host.
	Registry string
	// Secret is the imagePullSecretName to inject.
	Secret string
	// Policy is the imagePullPolicy to set; empty when the entry sets none.
	Policy corev1.PullPolicy
	// ByImage is true when no entry named the registry and the image's host matched a token.
	ByImage bool
}

// foundEntry is an entry with where it came from, for messages.
type foundEntry struct {
	entry Entry
	src   source
	index int
}

// resolver holds what every container of one Pod is resolved against.
type resolver struct {
	names   Names
	entries map[string]foundEntry
	source  TokenSource
	// tokens are the source's tokens once read; read is true from then on.
	tokens []Token
	read   bool
}

// TokenSource returns the tokens allowed in the Pod's namespace.
type TokenSource func() ([]Token, error)

// Resolve resolves every init container and container of the Pod, init containers first,
// each list in order (DESIGN.md, "Resolution, per container"):
//
//  1. the registry name is the container's pair in contract.ContainerRegistryName, else its
//     bare name, else contract.DefaultRegistryName;
//  2. the entry of that name is taken from the Pod's list (contract.ContainerRegistry), else
//     from the cluster list;
//  3. a name given explicitly and found nowhere is an error;
//  4. the default name found nowhere matches the image against the tokens with MatchImage;
//     without a match the container is left alone and is not in the result;
//  5. an entry gives its imagePullSecretName and imagePullPolicy.
//
// tokens are the tokens allowed in the Pod's namespace. Resolve reads only the Pod's
// annotations, container names and images, so it gives the same result for a Pod it has
// already been applied to.
func Resolve(pod *corev1.Pod, cluster []Entry, tokens []Token) ([]Container, error) {
	return ResolveLazily(pod, cluster, func() ([]Token, error) { return tokens, nil })
}

// ResolveLazily is Resolve with the tokens read from the source only when a container needs
// them (rule 4), at most once. A Pod whose containers all resolve by name, as those of a
// KubeROS deployment with a containerRegistry list do, never lists the store. An error of the
// source is returned as it is.
func ResolveLazily(pod *corev1.Pod, cluster []Entry, tokens TokenSource) ([]Container, error) {
	if pod == nil {
		return nil, fmt.Errorf("failed to resolve registries: no Pod")
	}
	r, err := newResolver(pod, cluster, tokens)
	if err != nil {
		return nil, err
	}

	var resolved []Container
	lists := []struct {
		containers []corev1.Container
		field      string
		init       bool
	}{
		{pod.Spec.InitContainers, "spec.initContainers", true},
		{pod.Spec.Containers, "spec.containers", false},
	}
	for _, list := range lists {
		for i, c := range list.containers {
			// The field path is only written into errors: build it only for one.
			fieldPath := func() string {
				return fmt.Sprintf("%s[%d] (container %s)", list.field, i, quote(c.Name))
			}
			container, ok, err := r.resolveContainer(c, fieldPath)
			if err != nil {
				return nil, err
			}
			if ok {
				container.Init = list.init
				resolved = append(resolved, container)
			}
		}
	}
	return resolved, nil
}

// newResolver parses the Pod's annotations, checks that every pair names one of its
// containers, and indexes the entries by name, the Pod's over the cluster's.
func newResolver(pod *corev1.Pod, cluster []Entry, tokens TokenSource) (*resolver, error) {
	podEntries, err := ParseEntries(pod.Annotations[contract.ContainerRegistry])
	if err != nil {
		return nil, err
	}
	names, err := ParseNames(pod.Annotations[contract.ContainerRegistryName])
	if err != nil {
		return nil, err
	}
	if err := checkPairs(pod, names); err != nil {
		return nil, err
	}

	entries := make(map[string]foundEntry, len(cluster)+len(podEntries))
	for i, entry := range cluster {
		if _, ok := entries[entry.Name]; !ok { // the first of duplicates, as KubeROS reads
			entries[entry.Name] = foundEntry{entry: entry, src: configSource, index: i}
		}
	}
	for i, entry := range podEntries {
		entries[entry.Name] = foundEntry{entry: entry, src: annotationSource, index: i}
	}
	return &resolver{names: names, entries: entries, source: tokens}, nil
}

// resolveContainer applies the rules to one container. It returns false for a container left
// alone.
func (r *resolver) resolveContainer(
	c corev1.Container,
	fieldPath func() string,
) (Container, bool, error) {
	name, explicit := r.names.For(c.Name)

	found, ok := r.entries[name]
	if ok {
		if err := validateEntry(found.entry, found.index, found.src); err != nil {
			return Container{}, false, fmt.Errorf("%s: %w", fieldPath(), err)
		}
		return Container{
			Name:     c.Name,
			Registry: name,
			Secret:   found.entry.ImagePullSecretName,
			Policy:   found.entry.ImagePullPolicy,
		}, true, nil
	}
	if explicit {
		return Container{}, false, r.unknownNameError(fieldPath(), name)
	}

	if !r.read {
		tokens, err := r.source()
		if err != nil {
			return Container{}, false, err
		}
		r.tokens, r.read = tokens, true
	}
	token, ok := MatchImage(c.Image, r.tokens)
	if !ok {
		return Container{}, false, nil
	}
	return Container{Name: c.Name, Registry: token.Name, Secret: token.Name, ByImage: true},
		true, nil
}

// unknownNameError says that a name given explicitly is in no list, and which names are.
func (r *resolver) unknownNameError(fieldPath, name string) error {
	existing := make([]string, 0, len(r.entries))
	for n := range r.entries {
		existing = append(existing, n)
	}
	sort.Strings(existing)

	example := "- {name: " + name + ", imagePullSecretName: my-registry-token}"
	if len(name) > maxQuotedBytes {
		example = "- {name: second-registry, imagePullSecretName: my-registry-token}"
	}
	return fmt.Errorf("%s: registry name %s from annotation %s is neither in the "+
		"containerRegistry list of annotation %s nor in the cluster registries; the names "+
		"that exist are %s; name one of them, or add an entry, for example "+
		"%q", fieldPath, quote(name), contract.ContainerRegistryName, contract.ContainerRegistry,
		listOrNone(existing), example)
}

// checkPairs rejects a pair that names a container the Pod does not have: a misspelt
// container name would otherwise silently fall back to the bare or default registry.
func checkPairs(pod *corev1.Pod, names Names) error {
	var podContainers []string
	has := make(map[string]bool)
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			podContainers = append(podContainers, c.Name)
			has[c.Name] = true
		}
	}

	named := make([]string, 0, len(names.PerContainer))
	for container := range names.PerContainer {
		named = append(named, container)
	}
	sort.Strings(named)
	for _, container := range named {
		if has[container] {
			continue
		}
		example := "CONTAINER=" + shortName(names.PerContainer[container])
		if len(podContainers) > 0 {
			example = shortName(podContainers[0]) + "=" + shortName(names.PerContainer[container])
		}
		return fmt.Errorf("annotation %s: container %s is not in the Pod; the Pod's "+
			"containers are %s; name one of them, for example %q",
			contract.ContainerRegistryName, quote(container), listOrNone(podContainers), example)
	}
	return nil
}
