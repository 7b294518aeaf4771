package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// tokenSummary is what `token list` shows of a token: every field but the secret.
type tokenSummary struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	RegistryURL string `json:"registryUrl"`
	UserName    string `json:"userName"`
	Description string `json:"description,omitempty"`
	// AllowedNamespaces is null when the token may be copied into every opted-in namespace.
	AllowedNamespaces []string `json:"allowedNamespaces"`
	// Copies is the number of Secrets labelled as copies of the token, in all namespaces.
	Copies int `json:"copies"`
	// CopyNamespaces are the namespaces that hold those copies, sorted.
	CopyNamespaces []string    `json:"copyNamespaces"`
	Created        metav1.Time `json:"created"`
}

// tokenDetails is what `token info` shows of a token: every field and each copy's state.
type tokenDetails struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	RegistryURL string `json:"registryUrl"`
	UserName    string `json:"userName"`
	Description string `json:"description,omitempty"`
	// AllowedNamespaces is null when the token may be copied into every opted-in namespace.
	AllowedNamespaces []string    `json:"allowedNamespaces"`
	Created           metav1.Time `json:"created"`
	Copies            []copyState `json:"copies"`
}

// copyState is one copy of a token and whether it still matches it.
type copyState struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// InStep is true when the copy's type, data and registry URL equal the token's.
	InStep bool `json:"inStep"`
	// Allowed is false when the token no longer allows the copy's namespace.
	Allowed bool `json:"allowed"`
}

// state is the copy's state in words.
func (c copyState) state() string {
	switch {
	case !c.Allowed:
		return "not allowed here"
	case !c.InStep:
		return "out of step"
	}
	return "in step"
}

func newTokenListCommand(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the registry tokens of the cluster",
		Long: `List the registry tokens of the token store (--token-namespace), sorted by name.

COPIES counts the copies of each token in all namespaces; -o wide also shows the namespaces a
token is allowed in and those that hold its copies. The tokens themselves are never shown.`,
		Example: `  kuberos-registry token list
  kuberos-registry token list -o wide
  kuberos-registry token list -o json --context robot-cluster-2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cs, err := o.Client("")
			if err != nil {
				return err
			}
			summaries, err := listTokenSummaries(cmd.Context(), cs, o.TokenNamespace)
			if err != nil {
				return err
			}
			return printTokenSummaries(o, output, summaries)
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func newTokenInfoCommand(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "info NAME",
		Aliases: []string{"describe"},
		Short:   "Show a registry token and the namespaces that hold copies of it",
		Long: `Show every field of a registry token but the token itself, and each namespace
that holds a copy of it: "in step" when the copy equals the token, "out of step" until the
webhook's controller has updated it, "not allowed here" when the token no longer allows
that namespace.`,
		Example: `  kuberos-registry token info kuberos-registry-token-default
  kuberos-registry token info kuberos-registry-token-default -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cs, err := o.Client("")
			if err != nil {
				return err
			}
			details, err := describeToken(cmd.Context(), cs, o, args[0])
			if err != nil {
				return err
			}
			if output == outputJSON || output == outputYAML {
				return printStructured(o.Streams.Out, output, details)
			}
			return printTokenDetails(o, details)
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// listTokenSummaries reads the tokens of the store and counts their copies.
func listTokenSummaries(
	ctx context.Context,
	cs kubernetes.Interface,
	namespace string,
) ([]tokenSummary, error) {
	tokens, err := cs.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(contract.TokenLabels()).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the tokens in namespace %s: %w", namespace, err)
	}
	copies, err := cs.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(map[string]string{
			contract.ManagedBy: contract.ManagedByValue,
			contract.Role:      contract.RoleMirror,
		}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the copies of tokens: %w", err)
	}
	copyNamespaces := map[string][]string{}
	for i := range copies.Items {
		c := &copies.Items[i]
		if token.IsCopy(c) {
			name := c.Labels[contract.Token]
			copyNamespaces[name] = append(copyNamespaces[name], c.Namespace)
		}
	}

	summaries := make([]tokenSummary, 0, len(tokens.Items))
	for i := range tokens.Items {
		t := &tokens.Items[i]
		namespaces := append([]string{}, copyNamespaces[t.Name]...)
		sort.Strings(namespaces)
		summaries = append(summaries, tokenSummary{
			Name:              t.Name,
			Namespace:         t.Namespace,
			RegistryURL:       token.RegistryURL(t),
			UserName:          t.Annotations[contract.UserName],
			Description:       t.Annotations[contract.Description],
			AllowedNamespaces: allowedNamespaces(t),
			Copies:            len(namespaces),
			CopyNamespaces:    namespaces,
			Created:           t.CreationTimestamp,
		})
	}
	sort.Slice(summaries, func(i, j int) bool { return summaries[i].Name < summaries[j].Name })
	return summaries, nil
}

func printTokenSummaries(o *Options, output string, summaries []tokenSummary) error {
	if output == outputJSON || output == outputYAML {
		return printStructured(o.Streams.Out, output, summaries)
	}
	if len(summaries) == 0 {
		fmt.Fprintf(o.Streams.ErrOut, "No tokens found in namespace %s.\n", o.TokenNamespace)
		return nil
	}
	header := []string{"NAME", "USER NAME", "REGISTRY", "DESCRIPTION", "COPIES", "AGE"}
	if output == outputWide {
		header = append(header, "ALLOWED NAMESPACES", "COPIES IN")
	}
	now := o.Now()
	rows := make([][]string, 0, len(summaries))
	for _, s := range summaries {
		row := []string{s.Name, orNone(s.UserName), orNone(s.RegistryURL),
			orNone(s.Description), strconv.Itoa(s.Copies), age(now, s.Created.Time)}
		if output == outputWide {
			row = append(row, allowedText(s.AllowedNamespaces, "<all opted-in>"),
				orNone(strings.Join(s.CopyNamespaces, ",")))
		}
		rows = append(rows, row)
	}
	return printTable(o.Streams.Out, header, rows)
}

// describeToken reads the token and compares each of its copies with it.
func describeToken(
	ctx context.Context,
	cs kubernetes.Interface,
	o *Options,
	name string,
) (tokenDetails, error) {
	t, err := getStoredToken(ctx, cs, o, name)
	if err != nil {
		return tokenDetails{}, err
	}
	copies, err := listTokenCopies(ctx, cs, name)
	if err != nil {
		return tokenDetails{}, err
	}

	states := make([]copyState, 0, len(copies))
	for i := range copies {
		c := &copies[i]
		states = append(states, copyState{
			Namespace: c.Namespace,
			Name:      c.Name,
			InStep:    isCopyInStep(c, t),
			Allowed:   token.Allows(t, c.Namespace),
		})
	}
	return tokenDetails{
		Name:              t.Name,
		Namespace:         t.Namespace,
		RegistryURL:       token.RegistryURL(t),
		UserName:          t.Annotations[contract.UserName],
		Description:       t.Annotations[contract.Description],
		AllowedNamespaces: allowedNamespaces(t),
		Created:           t.CreationTimestamp,
		Copies:            states,
	}, nil
}

func printTokenDetails(o *Options, d tokenDetails) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	field := func(key, value string) { fmt.Fprintf(tw, "%s:\t%s\n", key, value) }
	field("Name", d.Name)
	field("Namespace", d.Namespace)
	field("Registry URL", orNone(d.RegistryURL))
	field("User name", orNone(d.UserName))
	field("Description", orNone(d.Description))
	field("Allowed namespaces", allowedText(d.AllowedNamespaces, "all opted-in namespaces"))
	field("Created", fmt.Sprintf("%s (%s ago)",
		d.Created.UTC().Format("2006-01-02T15:04:05Z"), age(o.Now(), d.Created.Time)))
	if len(d.Copies) == 0 {
		field("Copies", "none")
	} else {
		field("Copies", strconv.Itoa(len(d.Copies)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := io.Copy(o.Streams.Out, &buf); err != nil {
		return err
	}
	if len(d.Copies) == 0 {
		return nil
	}

	rows := make([][]string, 0, len(d.Copies))
	stale := false
	for _, c := range d.Copies {
		rows = append(rows, []string{"  " + c.Namespace, c.state()})
		stale = stale || !c.InStep
	}
	if err := printTable(o.Streams.Out, []string{"  NAMESPACE", "STATE"}, rows); err != nil {
		return err
	}
	if stale {
		fmt.Fprintln(o.Streams.Out, "The webhook's controller brings copies out of step "+
			"in line with the token; if one stays so, read the Events of the token Secret.")
	}
	return nil
}

// getStoredToken reads the named token from the store namespace. A missing token, and a
// Secret of that name that is not a token, are errors that point to `token list`.
func getStoredToken(
	ctx context.Context,
	cs kubernetes.Interface,
	o *Options,
	name string,
) (*corev1.Secret, error) {
	secret, err := cs.CoreV1().Secrets(o.TokenNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && !token.IsToken(secret)) {
		return nil, fmt.Errorf("no token %s in namespace %s: see the tokens with "+
			"`kuberos-registry token list%s`", name, o.TokenNamespace, storeFlag(o))
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read token %s in namespace %s: %w",
			name, o.TokenNamespace, err)
	}
	return secret, nil
}

// listTokenCopies returns the Secrets labelled as copies of the token, in all namespaces,
// sorted by namespace.
func listTokenCopies(
	ctx context.Context,
	cs kubernetes.Interface,
	name string,
) ([]corev1.Secret, error) {
	list, err := cs.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(contract.MirrorLabels(name)).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the copies of token %s: %w", name, err)
	}
	copies := make([]corev1.Secret, 0, len(list.Items))
	for i := range list.Items {
		if token.IsCopy(&list.Items[i]) {
			copies = append(copies, list.Items[i])
		}
	}
	sort.Slice(copies, func(i, j int) bool { return copies[i].Namespace < copies[j].Namespace })
	return copies, nil
}

// allowedNamespaces returns the token's allowed names and patterns: nil when it is allowed
// in every opted-in namespace, empty when its annotation allows none.
func allowedNamespaces(t *corev1.Secret) []string {
	value, ok := t.Annotations[contract.AllowedNamespaces]
	if !ok {
		return nil
	}
	patterns := token.AllowedPatterns(value)
	if patterns == nil {
		return []string{}
	}
	return patterns
}

// allowedText renders allowed namespaces; all is the text for a token allowed everywhere.
func allowedText(allowed []string, all string) string {
	switch {
	case allowed == nil:
		return all
	case len(allowed) == 0:
		return "<none>"
	}
	return strings.Join(allowed, ",")
}

// isCopyInStep reports whether the copy holds the token's type, data and registry URL, as
// the controller keeps it.
func isCopyInStep(c, t *corev1.Secret) bool {
	return c.Type == t.Type && sameData(c.Data, t.Data) &&
		token.RegistryURL(c) == token.RegistryURL(t)
}

// sameData reports whether two Secrets' data are equal, key by key.
func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for key, value := range a {
		other, ok := b[key]
		if !ok || !bytes.Equal(value, other) {
			return false
		}
	}
	return true
}

// orNone is kubectl's rendering of an empty value.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
