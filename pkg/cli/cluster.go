package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
)

// defaultClusterTimeout bounds each request to one cluster in cluster list: long enough for
// a cluster across a slow link, short enough that an unreachable one does not hold the list.
const defaultClusterTimeout = 5 * time.Second

// clusterErrorWidth is how much of an error the wide table shows; -o json shows all of it.
const clusterErrorWidth = 60

// What the WEBHOOK column says.
const (
	webhookInstalled = "installed"
	webhookAbsent    = "no"
	webhookUnknown   = "unknown"
)

// clusterRow is one kubeconfig context as cluster list shows it. Tokens is nil when the store
// could not be read.
type clusterRow struct {
	Name      string `json:"name"`
	Current   bool   `json:"current"`
	Server    string `json:"server"`
	Reachable bool   `json:"reachable"`
	Version   string `json:"version,omitempty"`
	Webhook   string `json:"webhook,omitempty"`
	Tokens    *int   `json:"tokens,omitempty"`
	Error     string `json:"error,omitempty"`
}

func newClusterCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cluster",
		Aliases: []string{"clusters"},
		Short:   "Show the clusters of the kubeconfig: its contexts",
		Example: `  kuberos-registry cluster list
  kuberos-registry cluster list -o wide --timeout 2s`,
	}
	cmd.AddCommand(newClusterListCommand(o))
	return cmd
}

func newClusterListCommand(o *Options) *cobra.Command {
	var output string
	timeout := defaultClusterTimeout
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the clusters, whether they answer, run the webhook and hold tokens",
		Long: `List shows every context of the kubeconfig as a cluster: its API server, whether it
answers within --timeout, its Kubernetes version, whether the kuberos-registry webhook is
installed there, and how many tokens its store (--token-namespace) holds. Clusters are asked
at the same time; one that does not answer is a row, not an error. -o wide adds the current
context and why a cluster could not be read.`,
		Example: `  # every cluster of the kubeconfig
  kuberos-registry cluster list

  # with the current context and the errors, giving each cluster two seconds
  kuberos-registry cluster list -o wide --timeout 2s

  # clusters of another kubeconfig, as JSON
  kuberos-registry cluster list --kubeconfig ~/.kube/fleet.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if timeout <= 0 {
				return fmt.Errorf("invalid --timeout %s: give a positive duration, for "+
					"example 5s", timeout)
			}
			rows, err := o.listClusters(cmd.Context(), timeout)
			if err != nil {
				return err
			}
			if len(rows) == 0 && output != outputJSON && output != outputYAML {
				_, err := fmt.Fprintln(o.Streams.ErrOut, "no contexts in the kubeconfig: add "+
					"one with kubectl config set-context")
				return err
			}
			return printClusters(o.Streams.Out, output, rows)
		},
	}
	addOutputFlag(cmd, &output)
	cmd.Flags().DurationVar(&timeout, "timeout", defaultClusterTimeout,
		"how long each request to a cluster may take")
	return cmd
}

// listClusters asks every context of the kubeconfig at once and returns a row for each,
// sorted by name.
func (o *Options) listClusters(ctx context.Context, timeout time.Duration) ([]clusterRow, error) {
	raw, err := o.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	current := raw.CurrentContext
	if o.ConfigFlags.Context != nil && *o.ConfigFlags.Context != "" {
		current = *o.ConfigFlags.Context
	}

	names := make([]string, 0, len(raw.Contexts))
	for name := range raw.Contexts {
		names = append(names, name)
	}
	sort.Strings(names)

	rows := make([]clusterRow, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		rows[i] = clusterRow{Name: name, Current: name == current}
		if cluster, ok := raw.Clusters[raw.Contexts[name].Cluster]; ok {
			rows[i].Server = cluster.Server
		}
		wg.Go(func() { o.probeCluster(ctx, &rows[i], timeout) })
	}
	wg.Wait()
	return rows, nil
}

// probeCluster fills in what the cluster of the row's context says: its version, the webhook
// and the number of tokens. A cluster that cannot be asked keeps Reachable false and the
// reason in Error.
func (o *Options) probeCluster(ctx context.Context, row *clusterRow, timeout time.Duration) {
	cfg, err := o.RESTConfig(row.Name)
	if err != nil {
		row.Error = err.Error()
		return
	}
	cfg.Timeout = timeout
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		row.Error = fmt.Sprintf("failed to create a client: %v", err)
		return
	}

	info, err := cs.ServerVersionWithContext(ctx)
	if err != nil {
		row.Error = describeClusterError(err)
		return
	}
	row.Reachable = true
	row.Version = info.GitVersion

	var problems []error
	row.Webhook, err = webhookStatus(ctx, cs)
	problems = append(problems, err)
	tokens, err := cs.CoreV1().Secrets(o.TokenNamespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(contract.TokenLabels()).String(),
	})
	if err != nil {
		problems = append(problems, fmt.Errorf("failed to list the tokens in %s: %s",
			o.TokenNamespace, describeClusterError(err)))
	} else {
		count := len(tokens.Items)
		row.Tokens = &count
	}
	if err := errors.Join(problems...); err != nil {
		row.Error = err.Error()
	}
}

// webhookStatus tells whether a MutatingWebhookConfiguration of the cluster holds the Pod
// webhook, whatever the configuration's name: a chart installed under another release name
// still counts.
func webhookStatus(ctx context.Context, cs kubernetes.Interface) (string, error) {
	list, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx,
		metav1.ListOptions{})
	if err != nil {
		return webhookUnknown, fmt.Errorf("failed to list the webhook configurations: %s",
			describeClusterError(err))
	}
	for _, configuration := range list.Items {
		for _, hook := range configuration.Webhooks {
			if hook.Name == contract.WebhookName {
				return webhookInstalled, nil
			}
		}
	}
	return webhookAbsent, nil
}

// describeClusterError drops the request URL client-go wraps around a transport error: the
// SERVER column shows it already.
func describeClusterError(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// shortenClusterError keeps the wide table's ERROR column readable.
func shortenClusterError(msg string) string {
	runes := []rune(msg)
	if len(runes) <= clusterErrorWidth {
		return msg
	}
	return string(runes[:clusterErrorWidth-3]) + "..."
}

// printClusters prints the rows as a table, the wide one with the current context and the
// errors, or as JSON or YAML.
func printClusters(w io.Writer, output string, rows []clusterRow) error {
	if output == outputJSON || output == outputYAML {
		return printStructured(w, output, rows)
	}
	header := []string{"NAME", "SERVER", "REACHABLE", "VERSION", "WEBHOOK", "TOKENS"}
	if output == outputWide {
		header = append([]string{"CURRENT"}, append(header, "ERROR")...)
	}
	table := make([][]string, 0, len(rows))
	for _, row := range rows {
		reachable, tokens := "no", emptyCell
		if row.Reachable {
			reachable = "yes"
		}
		if row.Tokens != nil {
			tokens = strconv.Itoa(*row.Tokens)
		}
		cells := []string{row.Name, cellOrDash(row.Server), reachable, cellOrDash(row.Version),
			cellOrDash(row.Webhook), tokens}
		if output == outputWide {
			current := ""
			if row.Current {
				current = "*"
			}
			cells = append([]string{current}, append(cells,
				cellOrDash(shortenClusterError(row.Error)))...)
		}
		table = append(table, cells)
	}
	return printTable(w, header, table)
}
