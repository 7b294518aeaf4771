package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/kuberos"
	"github.com/kuberos-io/kuberos-registry/pkg/registry"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// The STATUS of a module's pull secret, as check reports it.
const (
	statusSecretExists    = "Secret exists"
	statusTokenExists     = "token exists (copied at admission)" //nolint:gosec // G101: a status
	statusTokenByImage    = "token exists (matched by image, copied at admission)"
	statusTokenNotAllowed = "token not allowed in namespace"
	statusMissing         = "missing"
	statusWrongType       = "Secret of the wrong type"
	statusUnknownRegistry = "unknown registry"
	statusInvalidName     = "invalid registry name"
	statusInvalidEntry    = "invalid entry"
	statusPublic          = "public (no Secret)"
)

// emptyCell fills a table cell that has no value.
const emptyCell = "-"

// checkReport is the result of a check: a row per ROSModule, the problems that make the
// command fail and the warnings that do not.
type checkReport struct {
	Manifest  string        `json:"manifest"`
	Kind      string        `json:"kind"`
	Namespace string        `json:"namespace"`
	Public    bool          `json:"public,omitempty"`
	Modules   []moduleCheck `json:"modules"`
	Problems  []string      `json:"problems,omitempty"`
	Warnings  []string      `json:"warnings,omitempty"`
}

// moduleCheck is the result for one ROSModule. KubeROSSecret is the pull secret KubeROS
// itself writes into the module's Pod, empty where its lookup finds nothing.
type moduleCheck struct {
	Module        string `json:"module"`
	Image         string `json:"image"`
	Registry      string `json:"registry,omitempty"`
	Secret        string `json:"secret,omitempty"`
	Policy        string `json:"policy,omitempty"`
	Status        string `json:"status"`
	KubeROSSecret string `json:"kuberosSecret"`
}

// clusterView is what a check reads from the cluster. Secrets are known by their type and
// tokens without their data: a check never holds a token.
type clusterView struct {
	namespace       string
	namespaceExists bool
	optedIn         bool
	// secrets are the types of the Secrets of the namespace that the manifest names.
	secrets map[string]corev1.SecretType
	store   string
	// tokens are the tokens of the store, sorted by name, their data dropped.
	tokens []corev1.Secret
}

func newCheckCommand(o *Options) *cobra.Command {
	var file, output string
	cmd := &cobra.Command{
		Use:   "check -f DEPLOYMENT.yaml [-n NAMESPACE]",
		Short: "Check that every ROSModule of a KubeROS manifest can pull its image",
		Long: `Check reads a KubeROS deployment manifest (ApplicationDeployment or BatchJob) and
shows, for every ROSModule, the containerRegistry entry it resolves to, the pull secret and
pull policy the webhook injects, and whether that Secret exists in the namespace or can be
copied there from a token of the store.

It fails, listing every problem with its fix, for an unknown registry name, an invalid
containerRegistry entry, a missing or not allowed token, and a namespace that does not exist
or has not opted in (annotation registry.kuberos.io/inject=enabled). It warns where KubeROS on
its own would give a module another Secret: KubeROS only finds the first entry of the list.

The namespace is -n, else the namespace of the context, else ros-default, where KubeROS
creates its Pods. Registries given to the webhook cluster-wide (--config) are not read: a
name found only there is reported as unknown. A manifest without a containerRegistry list
pulls public images; there is nothing to check and the cluster is not contacted.`,
		Example: `  # check a deployment before deploying it to ros-default
  kuberos-registry check -f hello_world.deployment.yaml

  # check a batch job for another namespace of another cluster, as YAML
  kuberos-registry check -f batch_job.yaml -n ros-lab --context robot-cluster-2 -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			manifest, err := kuberos.ReadManifest(file)
			if err != nil {
				return err
			}
			namespace := o.Namespace(kuberos.DefaultNamespace)

			view := clusterView{namespace: namespace, store: o.TokenNamespace}
			if len(manifest.ContainerRegistry) > 0 {
				cs, err := o.Client("")
				if err != nil {
					return err
				}
				view, err = readClusterView(cmd.Context(), cs, namespace, o.TokenNamespace,
					manifest)
				if err != nil {
					return err
				}
			}
			report := checkManifest(manifest, view)

			if err := printCheckReport(o.Streams.Out, output, report); err != nil {
				return err
			}
			for _, warning := range report.Warnings {
				if _, err := fmt.Fprintln(o.Streams.ErrOut, "Warning:", warning); err != nil {
					return err
				}
			}
			return report.err(file)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "",
		"the KubeROS manifest to check (ApplicationDeployment or BatchJob)")
	_ = cmd.MarkFlagRequired("filename") // fails only for a flag that does not exist
	addOutputFlag(cmd, &output)
	return cmd
}

// readClusterView reads the namespace, the Secrets of it the manifest names, and the tokens
// of the store.
func readClusterView(
	ctx context.Context,
	cs kubernetes.Interface,
	namespace string,
	store string,
	manifest *kuberos.Manifest,
) (clusterView, error) {
	view := clusterView{
		namespace: namespace,
		store:     store,
		secrets:   map[string]corev1.SecretType{},
	}

	ns, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// reported as a problem by namespaceProblems
	case err != nil:
		return view, fmt.Errorf("failed to read namespace %s: %w", namespace, err)
	default:
		view.namespaceExists = true
		view.optedIn = ns.Annotations[contract.Inject] == contract.InjectEnabled
	}

	if view.namespaceExists {
		for _, entry := range manifest.ContainerRegistry {
			name := entry.ImagePullSecretName
			if _, seen := view.secrets[name]; seen || name == "" {
				continue
			}
			secret, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return view, fmt.Errorf("failed to read Secret %s/%s: %w", namespace, name, err)
			}
			view.secrets[name] = secret.Type
		}
	}

	list, err := cs.CoreV1().Secrets(store).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(contract.TokenLabels()).String(),
	})
	if err != nil {
		return view, fmt.Errorf("failed to list the tokens of the store %s: %w", store, err)
	}
	for _, secret := range list.Items {
		secret.Data = nil // a check needs the token's name and annotations, never its data
		view.tokens = append(view.tokens, secret)
	}
	sort.Slice(view.tokens, func(i, j int) bool {
		return view.tokens[i].Name < view.tokens[j].Name
	})
	return view, nil
}

// checkManifest decides, without a cluster, what a KubeROS manifest gets in the view's
// namespace. Problems come in a fixed order: the namespace, the entries, then the modules.
func checkManifest(manifest *kuberos.Manifest, view clusterView) checkReport {
	report := checkReport{
		Manifest:  manifest.Metadata.Name,
		Kind:      manifest.Kind,
		Namespace: view.namespace,
		Modules:   []moduleCheck{},
	}
	entries := manifest.ContainerRegistry
	if len(entries) == 0 {
		report.Public = true
		for _, module := range manifest.RosModules {
			report.Modules = append(report.Modules, moduleCheck{
				Module: module.Name, Image: module.Image, Status: statusPublic,
			})
		}
		return report
	}

	report.Problems = append(report.Problems, namespaceProblems(view)...)
	entryErrors := entryProblems(entries)
	firstByName := make(map[string]int, len(entries))
	for i, entry := range entries {
		if _, ok := firstByName[entry.Name]; !ok {
			firstByName[entry.Name] = i
		}
	}

	usedBy := make(map[int][]string)
	var moduleProblems []string
	for _, module := range manifest.RosModules {
		result := moduleCheck{
			Module:        module.Name,
			Image:         module.Image,
			Registry:      emptyCell,
			Secret:        emptyCell,
			Policy:        emptyCell,
			KubeROSSecret: kuberosSecret(entries, module),
		}
		name, explicit, err := moduleRegistryName(module)
		if err != nil {
			result.Status = statusInvalidName
			moduleProblems = append(moduleProblems, err.Error())
			report.Modules = append(report.Modules, result)
			continue
		}

		i, found := firstByName[name]
		switch {
		case found:
			entry := entries[i]
			result.Registry = name
			result.Secret = cellOrDash(entry.ImagePullSecretName)
			result.Policy = cellOrDash(string(entry.ImagePullPolicy))
			if entryErrors[i] != "" {
				result.Status = statusInvalidEntry
				usedBy[i] = append(usedBy[i], module.Name)
				break
			}
			var problem string
			result.Status, problem = view.secretStatus(module.Name, entry.ImagePullSecretName)
			if problem != "" {
				moduleProblems = append(moduleProblems, problem)
			}
			if i > 0 {
				report.Warnings = append(report.Warnings, fmt.Sprintf("module %s: KubeROS "+
					"finds only the first containerRegistry entry (%q), so on its own it "+
					"gives this module an empty pull secret instead of %s; the webhook "+
					"injects %s in an opted-in namespace", module.Name, entries[0].Name,
					entry.ImagePullSecretName, entry.ImagePullSecretName))
			}
		case explicit:
			result.Registry = name
			result.Status = statusUnknownRegistry
			moduleProblems = append(moduleProblems, fmt.Sprintf("module %s: "+
				"containerRegistryName %q is not in the containerRegistry list (the names "+
				"are %s): KubeROS silently gives the Pod an empty pull secret, and the "+
				"webhook refuses it unless its cluster-wide registries hold that name; name "+
				"one of the entries, or add one, for example %q", module.Name, name,
				strings.Join(entryNames(entries), ", "),
				"- {name: "+name+", imagePullSecretName: my-registry-token}"))
		default:
			var warning string
			result, warning = view.matchImage(result, name)
			if warning != "" {
				report.Warnings = append(report.Warnings, warning)
			}
		}
		report.Modules = append(report.Modules, result)
	}

	for i := range entries {
		if entryErrors[i] != "" {
			report.Problems = append(report.Problems, entryProblem(entryErrors[i], usedBy[i]))
		}
	}
	report.Problems = append(report.Problems, moduleProblems...)
	report.Warnings = append(report.Warnings, policyWarnings(entries, entryErrors)...)
	return report
}

// namespaceProblems says what keeps the webhook from the namespace's Pods.
func namespaceProblems(view clusterView) []string {
	annotate := fmt.Sprintf("kubectl annotate namespace %s %s=%s", view.namespace,
		contract.Inject, contract.InjectEnabled)
	switch {
	case !view.namespaceExists:
		return []string{fmt.Sprintf("namespace %s does not exist: create it and opt it in: "+
			"kubectl create namespace %s && %s", view.namespace, view.namespace, annotate)}
	case !view.optedIn:
		return []string{fmt.Sprintf("namespace %s has not opted in, so the webhook never "+
			"sees its Pods: opt it in: %s", view.namespace, annotate)}
	}
	return nil
}

// entryProblems validates every entry on its own with the webhook's rules, so that each bad
// entry is reported, not only the first. It returns the problem of each bad entry by index.
func entryProblems(entries []registry.Entry) map[int]string {
	problems := make(map[int]string)
	first := make(map[string]int, len(entries))
	prefix := "annotation " + contract.ContainerRegistry + ": "
	for i, entry := range entries {
		data, err := json.Marshal([]registry.Entry{entry})
		if err == nil {
			_, err = registry.ParseEntries(string(data))
		}
		if err != nil {
			// The webhook names the annotation and the entry's index in a list of one; the
			// user wrote the manifest's list.
			msg := strings.TrimPrefix(err.Error(), prefix)
			problems[i] = strings.Replace(msg, "containerRegistry[0]",
				fmt.Sprintf("containerRegistry[%d]", i), 1)
			continue
		}
		if j, ok := first[entry.Name]; ok {
			problems[i] = fmt.Sprintf("containerRegistry[%d] (name %q) has the same name as "+
				"containerRegistry[%d]; give each entry its own name", i, entry.Name, j)
			continue
		}
		first[entry.Name] = i
	}
	return problems
}

// entryProblem names the modules that use a bad entry. The webhook reads the whole list from
// every Pod, so one bad entry refuses the Pods of every module.
func entryProblem(msg string, modules []string) string {
	msg += "; until it is fixed the webhook refuses the Pods of every module"
	switch len(modules) {
	case 0:
		return msg
	case 1:
		return "module " + modules[0] + ": " + msg
	}
	return "modules " + strings.Join(modules, ", ") + ": " + msg
}

// policyWarnings warns of valid entries without imagePullPolicy: the webhook leaves the
// policy alone, but KubeROS fails on an entry without the key.
func policyWarnings(entries []registry.Entry, entryErrors map[int]string) []string {
	var warnings []string
	for i, entry := range entries {
		if entry.ImagePullPolicy == "" && entryErrors[i] == "" {
			warnings = append(warnings, fmt.Sprintf("containerRegistry[%d] (name %q) has no "+
				"imagePullPolicy: KubeROS fails on such an entry; add one, for example %q",
				i, entry.Name, "imagePullPolicy: Always"))
		}
	}
	return warnings
}

// moduleRegistryName returns the registry name the webhook resolves the module's container
// with, and whether the manifest gave it, with the webhook's rules for the annotation it
// becomes.
func moduleRegistryName(module kuberos.RosModule) (string, bool, error) {
	names, err := registry.ParseNames(module.ContainerRegistryName)
	if err == nil {
		for container := range names.PerContainer {
			if container != module.Name {
				err = errors.New("names another container")
			}
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("module %s: containerRegistryName %q is not the name of "+
			"one registry (no whitespace, '=' or ','); write the name of a containerRegistry "+
			"entry, for example %q", module.Name, module.ContainerRegistryName,
			"containerRegistryName: default")
	}
	name, explicit := names.For(module.Name)
	return name, explicit, nil
}

// kuberosSecret is the pull secret KubeROS writes into the module's Pod: its lookup returns
// after the first entry of the list, so only a module naming the first entry gets a Secret.
func kuberosSecret(entries []registry.Entry, module kuberos.RosModule) string {
	name := module.ContainerRegistryName
	if name == "" {
		name = contract.DefaultRegistryName
	}
	if len(entries) > 0 && entries[0].Name == name {
		return entries[0].ImagePullSecretName
	}
	return ""
}

// secretStatus tells whether the Pod of a module can pull with the Secret: the Secret is in
// the namespace, or a token of the store that allows the namespace is copied there at
// admission. It returns the problem when it cannot.
func (v clusterView) secretStatus(module, secret string) (string, string) {
	if secretType, ok := v.secrets[secret]; ok {
		if secretType != corev1.SecretTypeDockerConfigJson &&
			secretType != corev1.SecretTypeDockercfg {
			return statusWrongType, fmt.Sprintf("module %s: Secret %s/%s has type %s, and the "+
				"kubelet pulls only with a %s Secret; replace it, or delete it so that the "+
				"webhook copies the token %s there", module, v.namespace, secret, secretType,
				corev1.SecretTypeDockerConfigJson, secret)
		}
		return statusSecretExists, ""
	}
	tok := v.token(secret)
	if tok == nil {
		return statusMissing, fmt.Sprintf("module %s: Secret %s is neither in namespace %s "+
			"nor a token in the store %s; add the token: kuberos-registry token create %s "+
			"-f registry_token.yaml", module, secret, v.namespace, v.store, secret)
	}
	if !token.Allows(tok, v.namespace) {
		return statusTokenNotAllowed, fmt.Sprintf("module %s: token %s may not be copied into "+
			"namespace %s (allowed: %s); allow it: kuberos-registry token update %s "+
			"--allowed-namespaces '%s,%s'", module, secret, v.namespace,
			tok.Annotations[contract.AllowedNamespaces], secret,
			tok.Annotations[contract.AllowedNamespaces], v.namespace)
	}
	return statusTokenExists, ""
}

// matchImage resolves a module that names no registry where the list has no entry of the
// default name: the webhook matches its image against the tokens the namespace may use.
func (v clusterView) matchImage(result moduleCheck, name string) (moduleCheck, string) {
	var tokens []registry.Token
	for i := range v.tokens {
		if token.Allows(&v.tokens[i], v.namespace) {
			tokens = append(tokens, registry.Token{
				Name:        v.tokens[i].Name,
				RegistryURL: token.RegistryURL(&v.tokens[i]),
			})
		}
	}
	matched, ok := registry.MatchImage(result.Image, tokens)
	if !ok {
		result.Status = statusPublic
		return result, fmt.Sprintf("module %s names no registry and the containerRegistry "+
			"list has no entry named %q: its image is pulled without a Secret; if it is "+
			"private, set containerRegistryName or add an entry named %q", result.Module,
			name, name)
	}
	result.Secret = matched.Name
	result.Status = statusTokenByImage
	if _, ok := v.secrets[matched.Name]; ok {
		result.Status = statusSecretExists
	}
	return result, ""
}

// token returns the token of that name in the store, or nil.
func (v clusterView) token(name string) *corev1.Secret {
	for i := range v.tokens {
		if v.tokens[i].Name == name {
			return &v.tokens[i]
		}
	}
	return nil
}

// err lists every problem, one a line, or returns nil when there is none.
func (r checkReport) err(file string) error {
	if len(r.Problems) == 0 {
		return nil
	}
	noun := "problems"
	if len(r.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Errorf("%s has %d %s in namespace %s:\n  %s", file, len(r.Problems), noun,
		r.Namespace, strings.Join(r.Problems, "\n  "))
}

// printCheckReport prints the modules as a table, the wide one with the Secret KubeROS
// itself writes, or the whole report as JSON or YAML.
func printCheckReport(w io.Writer, output string, report checkReport) error {
	if output == outputJSON || output == outputYAML {
		return printStructured(w, output, report)
	}
	if report.Public {
		_, err := fmt.Fprintf(w, "%s %s has no containerRegistry list: its images are public "+
			"and pulled without a Secret; nothing to check\n", report.Kind, report.Manifest)
		return err
	}

	header := []string{"MODULE", "IMAGE", "REGISTRY", "SECRET", "POLICY", "STATUS"}
	if output == outputWide {
		header = append(header, "KUBEROS SECRET")
	}
	rows := make([][]string, 0, len(report.Modules))
	for _, m := range report.Modules {
		row := []string{m.Module, m.Image, m.Registry, m.Secret, m.Policy, m.Status}
		if output == outputWide {
			row = append(row, cellOrDash(m.KubeROSSecret))
		}
		rows = append(rows, row)
	}
	return printTable(w, header, rows)
}

// entryNames lists the names of the entries, in order.
func entryNames(entries []registry.Entry) []string {
	names := make([]string, 0, len(entries))
	for _, entry := range entries {
		names = append(names, entry.Name)
	}
	return names
}

// cellOrDash returns s, or emptyCell for an empty s.
func cellOrDash(s string) string {
	if s == "" {
		return emptyCell
	}
	return s
}
