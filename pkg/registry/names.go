package registry

import (
	"fmt"
	"strings"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Names is a parsed contract.ContainerRegistryName annotation: a bare registry name for the
// containers not named, and registry names by container. The zero value names nothing, so
// every container uses contract.DefaultRegistryName.
type Names struct {
	// Bare is the registry of every container without a pair; empty when none is given.
	Bare string
	// PerContainer maps a container name to its registry name; nil when no pair is given.
	PerContainer map[string]string
}

// namesHint is how a valid value reads, appended to every ParseNames error.
const namesHint = `write NAME, or CONTAINER=NAME pairs separated by commas with at most one ` +
	`bare NAME for the other containers, for example "second-registry" or ` +
	`"hello-world-talker=second-registry,default"`

// ParseNames parses the value of the Pod annotation contract.ContainerRegistryName: `NAME`
// for every container, `CONTAINER=NAME,...` by container, or pairs and one bare NAME that
// covers the containers not named (`c1=a,b`). Whitespace around items, container names and
// registry names is ignored. An empty value gives the zero Names.
func ParseNames(value string) (Names, error) {
	var names Names
	if err := checkSize(contract.ContainerRegistryName, value); err != nil {
		return Names{}, fmt.Errorf("%w; %s", err, namesHint)
	}
	if strings.TrimSpace(value) == "" {
		return names, nil
	}

	for i, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return Names{}, namesErrorf("item %d is empty; remove the extra comma", i+1)
		}

		container, name, isPair := strings.Cut(item, "=")
		if !isPair {
			if err := checkRegistryName(item, i); err != nil {
				return Names{}, err
			}
			if names.Bare != "" {
				return Names{}, namesErrorf("two bare names, %s and %s; give one bare name "+
					"and name the other containers in pairs", quote(names.Bare), quote(item))
			}
			names.Bare = item
			continue
		}

		container, name = strings.TrimSpace(container), strings.TrimSpace(name)
		switch {
		case strings.Contains(name, "="):
			return Names{}, namesErrorf("item %s has more than one '='", quote(item))
		case container == "":
			return Names{}, namesErrorf("item %s has no container name before '='", quote(item))
		case name == "":
			return Names{}, namesErrorf("item %s has no registry name after '='", quote(item))
		}
		if err := checkRegistryName(name, i); err != nil {
			return Names{}, err
		}
		if _, ok := names.PerContainer[container]; ok {
			return Names{}, namesErrorf("container %s is named twice; give it one registry "+
				"name", quote(container))
		}
		if names.PerContainer == nil {
			names.PerContainer = make(map[string]string)
		}
		names.PerContainer[container] = name
	}
	return names, nil
}

// For returns the registry name of a container and whether it was given explicitly, by a
// pair or the bare name. A container named nowhere gets contract.DefaultRegistryName and
// false.
func (n Names) For(container string) (name string, explicit bool) {
	if name, ok := n.PerContainer[container]; ok {
		return name, true
	}
	if n.Bare != "" {
		return n.Bare, true
	}
	return contract.DefaultRegistryName, false
}

// checkRegistryName rejects a registry name that contains whitespace; '=' and ',' cannot
// reach here, they separate items.
func checkRegistryName(name string, i int) error {
	if !isValidRegistryName(name) {
		return namesErrorf("item %d: registry name %s contains whitespace", i+1, quote(name))
	}
	return nil
}

// namesErrorf returns an error that names the annotation and says how a valid value reads.
func namesErrorf(format string, args ...any) error {
	return fmt.Errorf("annotation %s: %s; %s", contract.ContainerRegistryName,
		fmt.Sprintf(format, args...), namesHint)
}
