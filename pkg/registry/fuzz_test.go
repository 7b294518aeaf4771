package registry

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// maxErrorBytes bounds an error message: it repeats what it needs of the value, never all of
// it.
const maxErrorBytes = 4096

func FuzzParseEntries(f *testing.F) {
	for _, seed := range []string{
		"",
		"null",
		"- {name: default, imagePullSecretName: kuberos-registry-token-default, " +
			"imagePullPolicy: Always}\n- {name: second-registry, imagePullSecretName: s}",
		`[{"name":"default","imagePullSecretName":"t","imagePullPolicy":"IfNotPresent"}]`,
		"{name: default, imagePullSecretName: t}",
		"[default, second]",
		"[[{name: a, imagePullSecretName: t}]]",
		"- {name: 123456789012345678901234567890, imagePullSecretName: t}",
		"- {name: a, imagePullSecretName: t, imagePullPolicy: always}",
		"- {name: a, imagePullSecretName: Bad/Name}",
		"- {name: 'a=b', imagePullSecretName: t}",
		"- {name: a, name: b, imagePullSecretName: t}",
		"- {name: a, imagePullSecretName: t, registry: r}",
		"- &a {name: a, imagePullSecretName: t}\n- *a",
		"- {name: \"\xff\", imagePullSecretName: t}",
		"- {name: [",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, value string) {
		entries, err := ParseEntries(value)
		yamlEntries, yamlErr := parseEntriesAsYAML(value)
		if (err == nil) != (yamlErr == nil) || len(entries) != len(yamlEntries) {
			t.Fatalf("%q: ParseEntries gives %#v, %v; the YAML parser alone %#v, %v", value,
				entries, err, yamlEntries, yamlErr)
		}
		if err != nil {
			checkError(t, err, contract.ContainerRegistry)
			return
		}

		seen := map[string]bool{}
		for _, e := range entries {
			if !isValidRegistryName(e.Name) || e.ImagePullSecretName == "" || seen[e.Name] {
				t.Fatalf("an accepted entry is invalid or repeated: %#v", e)
			}
			seen[e.Name] = true
		}
		for _, render := range []func(any) ([]byte, error){json.Marshal, yaml.Marshal} {
			for i := range entries {
				if entries[i] != yamlEntries[i] {
					t.Fatalf("%q: ParseEntries gives %#v; the YAML parser alone %#v", value,
						entries, yamlEntries)
				}
			}
			rendered, err := render(entries)
			if err != nil {
				t.Fatalf("failed to render %#v: %v", entries, err)
			}
			again, err := ParseEntries(string(rendered))
			if err != nil {
				t.Fatalf("the rendering %q of %q does not parse: %v", rendered, value, err)
			}
			if len(again) != len(entries) {
				t.Fatalf("the rendering %q of %q parses to %#v, not %#v", rendered, value,
					again, entries)
			}
			for i := range again {
				if again[i] != entries[i] {
					t.Fatalf("the rendering %q of %q parses to %#v, not %#v", rendered, value,
						again, entries)
				}
			}
		}
	})
}

func FuzzParseNames(f *testing.F) {
	for _, seed := range []string{
		"",
		"default",
		" second-registry\n",
		"hello-world-talker=second-registry,hello-world-listener=default",
		"c1=a,b",
		" c1 = a , b ,c2= d",
		"a,b",
		"a,,",
		"=x",
		"c=",
		"a=b=c",
		"c=a,c=b",
		"registry-ü",
		"\x1b[31m\x00",
		"\xff\xfe=\xc3\x28",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, value string) {
		names, err := ParseNames(value)
		if err != nil {
			checkError(t, err, contract.ContainerRegistryName)
			if !strings.Contains(err.Error(), namesHint) {
				t.Fatalf("the error %q lacks the hint", err)
			}
			return
		}

		rendered := renderNames(names)
		again, err := ParseNames(rendered)
		if err != nil {
			t.Fatalf("the rendering %q of %q does not parse: %v", rendered, value, err)
		}
		if renderNames(again) != rendered || again.Bare != names.Bare ||
			len(again.PerContainer) != len(names.PerContainer) {
			t.Fatalf("the rendering %q of %q parses to %#v, not %#v", rendered, value, again,
				names)
		}
		for container, name := range names.PerContainer {
			if got, explicit := again.For(container); got != name || !explicit {
				t.Fatalf("container %q: %q, explicit %t; want %q", container, got, explicit,
					name)
			}
		}
	})
}

// parseEntriesAsYAML is ParseEntries without any shortcut: every value through the strict
// YAML parser. A faster path for the JSON KubeROS writes must agree with it.
func parseEntriesAsYAML(value string) ([]Entry, error) {
	if checkSize(contract.ContainerRegistry, value) != nil || strings.TrimSpace(value) == "" {
		return ParseEntries(value)
	}
	var raw any
	if err := yaml.UnmarshalStrict([]byte(value), &raw); err != nil {
		return nil, err
	}
	return decodeEntries(raw, annotationSource)
}

// renderNames writes parsed names back as an annotation value: pairs sorted, then the bare
// name.
func renderNames(n Names) string {
	items := make([]string, 0, len(n.PerContainer)+1)
	for container, name := range n.PerContainer {
		items = append(items, container+"="+name)
	}
	sort.Strings(items)
	if n.Bare != "" {
		items = append(items, n.Bare)
	}
	return strings.Join(items, ",")
}

// checkError fails unless the error names the annotation and is short.
func checkError(t *testing.T, err error, annotation string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, "annotation "+annotation+":") {
		t.Fatalf("the error %q does not name annotation %s", msg, annotation)
	}
	if len(msg) > maxErrorBytes {
		t.Fatalf("the error is %d bytes: %.300s", len(msg), msg)
	}
}
