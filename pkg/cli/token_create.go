package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// maxTokenBytes bounds what --token-stdin reads. Registry tokens are a few hundred bytes; more
// than this is a file piped in by mistake, not a token.
const maxTokenBytes = 64 << 10

// tokenCreateFlags are the flags of `token create`.
type tokenCreateFlags struct {
	file              string
	registryURL       string
	userName          string
	description       string
	tokenStdin        bool
	allowedNamespaces string
}

func newTokenCreateCommand(o *Options) *cobra.Command {
	f := &tokenCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create (-f FILE | NAME --registry-url URL --user-name USER --token-stdin)",
		Short: "Store a registry token in the cluster",
		Long: `Store a registry token in the token store of the cluster (--token-namespace).

The token comes from a KubeROS RegistryToken file (-f), or from flags with the token read
from standard input (--token-stdin): a token is never given as a flag, where shell history
and process lists would keep it. One trailing newline of standard input is dropped.

--allowed-namespaces keeps the token to the namespaces named, comma-separated, * patterns
allowed (metadata.allowedNamespaces in the file). Without it, the webhook copies the token
into every opted-in namespace whose Pods need it.

An existing token is left alone: change it with "kuberos-registry token update".`,
		Example: `  # from the KubeROS template; then delete the file, it holds the token in clear
  kuberos-registry token create -f registry_token.yaml

  # from flags, the token read from standard input
  printf '%s' "$TOKEN" | kuberos-registry token create kuberos-registry-token-default \
      --registry-url registry.example.com:5050/team --user-name robot-ci --token-stdin

  # only for the namespaces of team A
  kuberos-registry token create -f registry_token.yaml --allowed-namespaces 'team-a-*'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := f.spec(cmd, args, o.Streams.In)
			if err != nil {
				return err
			}
			cs, err := o.Client("")
			if err != nil {
				return err
			}
			created, err := createStoredToken(cmd.Context(), cs, o, spec)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.Streams.Out, "token %s created in namespace %s (registry %s)\n",
				created.Name, created.Namespace, token.RegistryURL(created))
			if f.file != "" {
				fmt.Fprintf(o.Streams.ErrOut, "reminder: %s holds the token in clear text; "+
					"the cluster stores it now, so delete the file: rm %s\n", f.file, f.file)
			}
			return nil
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&f.file, "filename", "f", "",
		"a KubeROS RegistryToken file (apiVersion v1alpha, kind RegistryToken)")
	flags.StringVar(&f.registryURL, "registry-url", "",
		"registry host, optional port and path, e.g. registry.example.com:5050/team")
	flags.StringVar(&f.userName, "user-name", "", "user name in the registry")
	flags.StringVar(&f.description, "description", "", "free text about the token")
	flags.BoolVar(&f.tokenStdin, "token-stdin", false, "read the token from standard input")
	flags.StringVar(&f.allowedNamespaces, "allowed-namespaces", "",
		"namespaces the token may be copied into: names or * patterns, comma-separated "+
			"(default every opted-in namespace)")
	return cmd
}

// spec builds the token from the file or from the flags, validated.
func (f *tokenCreateFlags) spec(cmd *cobra.Command, args []string, in io.Reader) (
	token.Spec,
	error,
) {
	if f.file != "" {
		return f.specFromFile(cmd, args)
	}
	return f.specFromFlags(cmd, args, in)
}

func (f *tokenCreateFlags) specFromFile(cmd *cobra.Command, args []string) (token.Spec, error) {
	if len(args) > 0 {
		return token.Spec{}, fmt.Errorf("-f %s names the token: remove the argument %s, or "+
			"drop -f and give every field as a flag", f.file, args[0])
	}
	var mixed []string
	for _, name := range []string{"registry-url", "user-name", "description", "token-stdin"} {
		if cmd.Flags().Changed(name) {
			mixed = append(mixed, "--"+name)
		}
	}
	if len(mixed) > 0 {
		return token.Spec{}, fmt.Errorf("-f takes every field from the file: remove %s, or "+
			"edit %s", strings.Join(mixed, ", "), f.file)
	}

	data, err := os.ReadFile(f.file)
	if err != nil {
		return token.Spec{}, fmt.Errorf("failed to read the token file: %w", err)
	}
	spec, err := token.ParseFile(data)
	if err != nil {
		return token.Spec{}, fmt.Errorf("%s: %w", f.file, err)
	}
	if !cmd.Flags().Changed("allowed-namespaces") {
		return spec, nil
	}
	if spec.AllowedNamespaces != "" {
		return token.Spec{}, fmt.Errorf("%s sets metadata.allowedNamespaces already: remove "+
			"it from the file or drop --allowed-namespaces", f.file)
	}
	spec.AllowedNamespaces = f.allowedNamespaces
	if err := spec.Validate(); err != nil {
		return token.Spec{}, err
	}
	return spec, nil
}

func (f *tokenCreateFlags) specFromFlags(
	cmd *cobra.Command,
	args []string,
	in io.Reader,
) (token.Spec, error) {
	if len(args) == 0 {
		return token.Spec{}, errors.New("give the token's NAME with --registry-url, " +
			"--user-name and --token-stdin, or a RegistryToken file with -f")
	}
	var missing []string
	for _, name := range []string{"registry-url", "user-name"} {
		if !cmd.Flags().Changed(name) {
			missing = append(missing, "--"+name)
		}
	}
	if !f.tokenStdin {
		missing = append(missing, "--token-stdin")
	}
	if len(missing) > 0 {
		return token.Spec{}, fmt.Errorf("token create %s needs --registry-url, --user-name "+
			"and --token-stdin (the token is read from standard input, never from a flag): "+
			"missing %s", args[0], strings.Join(missing, ", "))
	}

	secret, err := readTokenStdin(in)
	if err != nil {
		return token.Spec{}, err
	}
	spec := token.Spec{
		Name:              args[0],
		RegistryURL:       f.registryURL,
		UserName:          f.userName,
		Description:       f.description,
		Token:             secret,
		AllowedNamespaces: f.allowedNamespaces,
	}
	if err := spec.Validate(); err != nil {
		return token.Spec{}, err
	}
	return spec, nil
}

// readTokenStdin reads a token from standard input, without one trailing newline (echo and
// here-strings add one).
func readTokenStdin(in io.Reader) (string, error) {
	if in == nil {
		return "", errors.New("no standard input to read the token from")
	}
	data, err := io.ReadAll(io.LimitReader(in, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("failed to read the token from standard input: %w", err)
	}
	if len(data) > maxTokenBytes {
		return "", fmt.Errorf("standard input holds more than %d bytes: pipe in the token "+
			"alone", maxTokenBytes)
	}
	value := string(data)
	if trimmed, ok := strings.CutSuffix(value, "\r\n"); ok {
		value = trimmed
	} else {
		value = strings.TrimSuffix(value, "\n")
	}
	if strings.TrimSpace(value) == "" {
		return "", errors.New(`standard input holds no token: pipe it into the command, ` +
			`as in printf '%s' "$TOKEN" | kuberos-registry token ... --token-stdin`)
	}
	return value, nil
}

// createStoredToken writes the token Secret into the store namespace.
func createStoredToken(
	ctx context.Context,
	cs kubernetes.Interface,
	o *Options,
	spec token.Spec,
) (*corev1.Secret, error) {
	namespace := o.TokenNamespace
	secret, err := token.NewSecret(spec, namespace)
	if err != nil {
		return nil, err
	}

	created, err := cs.CoreV1().Secrets(namespace).Create(ctx, secret,
		metav1.CreateOptions{FieldManager: contract.FieldManager})
	switch {
	case err == nil:
		return created, nil
	case apierrors.IsAlreadyExists(err):
		return nil, tokenExistsError(ctx, cs, o, spec.Name)
	case apierrors.IsNotFound(err):
		// Creating an object in a namespace that does not exist is a NotFound of the namespace.
		return nil, fmt.Errorf("the store namespace %s does not exist: it is the namespace "+
			"of the kuberos-registry webhook; install the webhook there, or create it with "+
			"`kubectl create namespace %s`", namespace, namespace)
	}
	return nil, fmt.Errorf("failed to create token %s in namespace %s: %w",
		spec.Name, namespace, err)
}

// tokenExistsError tells an existing token from another Secret that holds the name.
func tokenExistsError(ctx context.Context, cs kubernetes.Interface, o *Options, name string) error {
	existing, err := cs.CoreV1().Secrets(o.TokenNamespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil && !token.IsToken(existing) {
		return fmt.Errorf("a Secret %s/%s that is not a registry token already has that "+
			"name: choose another name for the token", o.TokenNamespace, name)
	}
	return fmt.Errorf("token %s already exists in namespace %s: change it with "+
		"`kuberos-registry token update %s%s`", name, o.TokenNamespace, name, storeFlag(o))
}

// storeFlag repeats --token-namespace in the commands an error suggests, when it was given.
func storeFlag(o *Options) string {
	if o.TokenNamespace == contract.DefaultTokenNamespace {
		return ""
	}
	return " --token-namespace " + o.TokenNamespace
}
