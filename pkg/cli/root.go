package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// Options are shared by every command: the kubectl flags, the store namespace, the streams
// and the clock.
type Options struct {
	// ConfigFlags are kubectl's --kubeconfig, --context, -n and friends.
	ConfigFlags *genericclioptions.ConfigFlags
	// TokenNamespace is the store namespace, --token-namespace.
	TokenNamespace string
	// Streams are standard input, output and error.
	Streams genericiooptions.IOStreams
	// Now is the clock AGE columns are computed with; tests fix it.
	Now func() time.Time
}

// NewRootCommand returns the kuberos-registry command with every subcommand.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return NewRootCommandWithClock(streams, time.Now)
}

// NewRootCommandWithClock is NewRootCommand with the clock AGE columns are computed with.
func NewRootCommandWithClock(
	streams genericiooptions.IOStreams,
	now func() time.Time,
) *cobra.Command {
	o := &Options{
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		Streams:     streams,
		Now:         now,
	}
	root := &cobra.Command{
		Use:   "kuberos-registry",
		Short: "Manage the registry tokens that KubeROS Pods pull private images with",
		Long: `kuberos-registry manages registry tokens for KubeROS clusters.

A token is stored once per cluster, in the store namespace. The kuberos-registry webhook copies
it into the namespaces whose Pods need it, and its controllers keep every copy in step with
the token. Clusters are the contexts of your kubeconfig.`,
		Example: `  # store a token, the token read from standard input
  printf '%s' "$TOKEN" | kuberos-registry token create lab --registry-url registry.example.com \
      --user-name robot-ci --token-stdin

  # check a KubeROS deployment before deploying it
  kuberos-registry check -f hello_world.deployment.yaml -n ros-default`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if strings.Contains(err.Error(), "--token ") || strings.HasSuffix(err.Error(), "--token") {
			return fmt.Errorf("%w: a registry token is never given on the command line, "+
				"pipe it in with --token-stdin", err)
		}
		return err
	})
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	// kubectl's --token would take a bearer token for the API server; here it would read as a
	// place to give the registry token, which must never travel on a command line.
	o.ConfigFlags.BearerToken = nil
	o.ConfigFlags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&o.TokenNamespace, "token-namespace",
		contract.DefaultTokenNamespace, "namespace of the token store")

	root.AddCommand(newTokenCommand(o), newClusterCommand(o), newCheckCommand(o))
	return root
}

// RESTConfig returns the configuration of the current context, or of the named one.
func (o *Options) RESTConfig(kubeContext string) (*rest.Config, error) {
	if kubeContext == "" {
		cfg, err := o.ConfigFlags.ToRESTConfig()
		if err != nil {
			return nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
		}
		return cfg, nil
	}
	raw, err := o.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	if _, ok := raw.Contexts[kubeContext]; !ok {
		return nil, fmt.Errorf("no context %q in the kubeconfig: see `kuberos-registry "+
			"cluster list`", kubeContext)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(raw, kubeContext,
		&clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load context %s: %w", kubeContext, err)
	}
	return cfg, nil
}

// Client returns a clientset for the current context, or for the named one.
func (o *Options) Client(kubeContext string) (kubernetes.Interface, error) {
	cfg, err := o.RESTConfig(kubeContext)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client: %w", err)
	}
	return cs, nil
}

// Namespace returns -n, else the namespace of the current context, else def.
func (o *Options) Namespace(def string) string {
	if o.ConfigFlags.Namespace != nil && *o.ConfigFlags.Namespace != "" {
		return *o.ConfigFlags.Namespace
	}
	ns, explicit, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err == nil && explicit && ns != "" {
		return ns
	}
	return def
}
