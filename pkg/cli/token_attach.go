package cli

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// attachTarget is where attach and detach write: the store of another cluster, or one
// namespace there when --namespace is given.
type attachTarget struct {
	cluster   string
	client    kubernetes.Interface
	namespace string
	// copy is true for a namespace given with --namespace: the Secret there is a labelled
	// copy of the token, not a token.
	copy bool
}

// where names the target in messages.
func (t attachTarget) where() string {
	if t.copy {
		return fmt.Sprintf("cluster %s (namespace %s)", t.cluster, t.namespace)
	}
	return fmt.Sprintf("cluster %s (store %s)", t.cluster, t.namespace)
}

// isOurs reports whether a Secret at the target may be updated or deleted: a token in the
// store, or a copy of the named token in a namespace.
func (t attachTarget) isOurs(secret *corev1.Secret, name string) bool {
	if t.copy {
		return token.IsCopy(secret) && secret.Labels[contract.Token] == name
	}
	return token.IsToken(secret)
}

// oursLabels names the labels isOurs looks for, for messages.
func (t attachTarget) oursLabels(name string) string {
	want := contract.TokenLabels()
	if t.copy {
		want = contract.MirrorLabels(name)
	}
	pairs := make([]string, 0, len(want))
	for key, value := range want {
		pairs = append(pairs, key+"="+value)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ", ")
}

func newTokenAttachCommand(o *Options) *cobra.Command {
	var cluster string
	cmd := &cobra.Command{
		Use:   "attach NAME --cluster CONTEXT [--namespace NS]",
		Short: "Copy a token into the store of another cluster, or into one namespace there",
		Long: `Attach reads the token NAME from the store of the current context (or --context) and
writes the same token Secret into the store of the cluster CONTEXT, a context of the
kubeconfig, creating the store namespace there if it is missing. The webhook of that cluster
then copies it wherever Pods need it.

With --namespace NS it writes a labelled copy straight into the namespace NS of that cluster,
as KubeROS's attach does, for clusters that do not run the webhook. The namespace must exist
and the token must allow it.

Attaching again changes nothing and says so; a token whose data changed since is updated. A
Secret of that name that kuberos-registry did not write is never touched: attach fails.`,
		Example: `  # attach the token lab to the store of robot-cluster-2
  kuberos-registry token attach lab --cluster robot-cluster-2

  # write a copy of lab into ros-default of robot-cluster-2, as KubeROS's attach does
  kuberos-registry token attach lab --cluster robot-cluster-2 --namespace ros-default

  # read the token from another cluster than the current one
  kuberos-registry token attach lab --context fleet-main --cluster robot-cluster-2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			source, err := o.readAttachSource(cmd.Context(), name)
			if err != nil {
				return err
			}
			target, err := o.attachTarget(cluster)
			if err != nil {
				return err
			}
			msg, err := attachToken(cmd.Context(), source, target)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(o.Streams.Out, msg)
			return err
		},
	}
	addClusterFlag(cmd, &cluster, "the context of the cluster to attach the token to")
	return cmd
}

func newTokenDetachCommand(o *Options) *cobra.Command {
	var cluster string
	cmd := &cobra.Command{
		Use:   "detach NAME --cluster CONTEXT [--namespace NS]",
		Short: "Remove a token from the store of another cluster, or from one namespace there",
		Long: `Detach reverses attach: it deletes the token NAME from the store of the cluster
CONTEXT, or with --namespace NS the copy of it in the namespace NS there. It deletes only a
Secret that carries kuberos-registry's labels: a token in the store, or a copy of NAME in the
namespace. A token that is not attached changes nothing and says so. On a cluster that runs
kuberos-registry, the controllers then delete the copies the webhook made of the token.

The cluster the token is read from is not detached from: use token delete for that.`,
		Example: `  # remove the token lab from the store of robot-cluster-2
  kuberos-registry token detach lab --cluster robot-cluster-2

  # remove the copy of lab from ros-default of robot-cluster-2
  kuberos-registry token detach lab --cluster robot-cluster-2 --namespace ros-default`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := o.attachTarget(cluster)
			if err != nil {
				return err
			}
			if err := o.refuseSourceCluster(target, args[0]); err != nil {
				return err
			}
			msg, err := detachToken(cmd.Context(), args[0], target)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(o.Streams.Out, msg)
			return err
		},
	}
	addClusterFlag(cmd, &cluster, "the context of the cluster to detach the token from")
	return cmd
}

// addClusterFlag adds the required --cluster. --namespace is kubectl's -n of the root
// command, read here as the namespace on that cluster.
func addClusterFlag(cmd *cobra.Command, cluster *string, usage string) {
	cmd.Flags().StringVar(cluster, "cluster", "", usage+" (see cluster list)")
	_ = cmd.MarkFlagRequired("cluster") // fails only for a flag that does not exist
}

// readAttachSource reads the token from the store of the current context.
func (o *Options) readAttachSource(ctx context.Context, name string) (*corev1.Secret, error) {
	cs, err := o.Client("")
	if err != nil {
		return nil, err
	}
	secret, err := cs.CoreV1().Secrets(o.TokenNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && !token.IsToken(secret)) {
		return nil, fmt.Errorf("no token %s in the store %s of the current cluster: see "+
			"kuberos-registry token list, or give the cluster that holds it with --context",
			name, o.TokenNamespace)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read token %s/%s: %w", o.TokenNamespace, name, err)
	}
	return secret, nil
}

// attachTarget builds the target of --cluster and --namespace.
func (o *Options) attachTarget(cluster string) (attachTarget, error) {
	cs, err := o.Client(cluster)
	if err != nil {
		return attachTarget{}, err
	}
	target := attachTarget{cluster: cluster, client: cs, namespace: o.TokenNamespace}
	if ns := o.ConfigFlags.Namespace; ns != nil && *ns != "" && *ns != o.TokenNamespace {
		target.namespace, target.copy = *ns, true
	}
	return target, nil
}

// refuseSourceCluster keeps detach from deleting the token itself: the store of the cluster
// tokens are read from is the token, not an attachment.
func (o *Options) refuseSourceCluster(target attachTarget, name string) error {
	if target.copy {
		return nil
	}
	source, err := o.RESTConfig("")
	if err != nil {
		return err
	}
	attached, err := o.RESTConfig(target.cluster)
	if err != nil {
		return err
	}
	if source.Host == attached.Host {
		return fmt.Errorf("cluster %s is the cluster tokens are read from, and its store "+
			"holds the token %s itself: delete it with kuberos-registry token delete %s, or "+
			"give another cluster with --cluster", target.cluster, name, name)
	}
	return nil
}

// attachToken writes the token, or its copy, at the target and says what it did.
func attachToken(ctx context.Context, source *corev1.Secret, target attachTarget) (string,
	error) {
	name := source.Name
	if target.copy && !token.Allows(source, target.namespace) {
		return "", fmt.Errorf("token %s may not be copied into namespace %s (allowed: %s): "+
			"allow it with kuberos-registry token update %s --allowed-namespaces", name,
			target.namespace, source.Annotations[contract.AllowedNamespaces], name)
	}
	notes, err := ensureAttachNamespace(ctx, target)
	if err != nil {
		return "", err
	}
	desired := attachedSecret(source, target)

	secrets := target.client.CoreV1().Secrets(target.namespace)
	existing, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := secrets.Create(ctx, desired, metav1.CreateOptions{
			FieldManager: contract.FieldManager,
		}); err != nil {
			return "", fmt.Errorf("failed to create Secret %s/%s in cluster %s: %w",
				target.namespace, name, target.cluster, err)
		}
		return notes + fmt.Sprintf("token %s attached to %s", name, target.where()), nil
	case err != nil:
		return "", fmt.Errorf("failed to read Secret %s/%s in cluster %s: %w",
			target.namespace, name, target.cluster, err)
	case !target.isOurs(existing, name):
		return "", fmt.Errorf("refusing to overwrite Secret %s/%s in cluster %s: it was not "+
			"written by kuberos-registry (it lacks the labels %s) and was left unchanged; "+
			"remove it there yourself if it is not needed, then attach again",
			target.namespace, name, target.cluster, target.oursLabels(name))
	case isAttached(existing, desired):
		return notes + fmt.Sprintf("token %s is already attached to %s; nothing changed",
			name, target.where()), nil
	}

	updated := existing.DeepCopy()
	updated.Type = desired.Type
	updated.Data = desired.Data
	updated.Labels = attachMerge(updated.Labels, desired.Labels)
	updated.Annotations = attachMerge(updated.Annotations, desired.Annotations)
	if _, err := secrets.Update(ctx, updated, metav1.UpdateOptions{
		FieldManager: contract.FieldManager,
	}); err != nil {
		return "", fmt.Errorf("failed to update Secret %s/%s in cluster %s: %w",
			target.namespace, name, target.cluster, err)
	}
	return notes + fmt.Sprintf("token %s updated in %s: it differed from the token",
		name, target.where()), nil
}

// ensureAttachNamespace creates the store namespace when it is missing and says so; a
// namespace given with --namespace must exist already.
func ensureAttachNamespace(ctx context.Context, target attachTarget) (string, error) {
	namespaces := target.client.CoreV1().Namespaces()
	_, err := namespaces.Get(ctx, target.namespace, metav1.GetOptions{})
	switch {
	case err == nil:
		return "", nil
	case !apierrors.IsNotFound(err):
		return "", fmt.Errorf("failed to read namespace %s in cluster %s: %w",
			target.namespace, target.cluster, err)
	case target.copy:
		return "", fmt.Errorf("namespace %s does not exist in cluster %s: create it first "+
			"(kubectl --context %s create namespace %s), or attach to the store without "+
			"--namespace", target.namespace, target.cluster, target.cluster, target.namespace)
	}
	_, err = namespaces.Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: target.namespace},
	}, metav1.CreateOptions{FieldManager: contract.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("failed to create the store namespace %s in cluster %s: %w",
			target.namespace, target.cluster, err)
	}
	return fmt.Sprintf("created namespace %s in cluster %s\n", target.namespace,
		target.cluster), nil
}

// attachedSecret is what attach writes: the token Secret itself in a store, a labelled copy
// in a namespace.
func attachedSecret(source *corev1.Secret, target attachTarget) *corev1.Secret {
	if target.copy {
		return token.NewCopy(source, target.namespace)
	}
	annotations := maps.Clone(source.Annotations)
	// kubectl apply's record of the source describes an object of another cluster.
	delete(annotations, corev1.LastAppliedConfigAnnotation)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        source.Name,
			Namespace:   target.namespace,
			Labels:      maps.Clone(source.Labels),
			Annotations: annotations,
		},
		Type: source.Type,
		Data: source.Data,
	}
}

// isAttached reports whether the existing Secret already is the desired one: same type and
// data, and the labels and annotations attach writes.
func isAttached(existing, desired *corev1.Secret) bool {
	if existing.Type != desired.Type || len(existing.Data) != len(desired.Data) {
		return false
	}
	for key, value := range desired.Data {
		if got, ok := existing.Data[key]; !ok || !bytes.Equal(got, value) {
			return false
		}
	}
	return attachHasAll(existing.Labels, desired.Labels) &&
		attachHasAll(existing.Annotations, desired.Annotations)
}

// detachToken deletes the token, or its copy, at the target and says what it did.
func detachToken(ctx context.Context, name string, target attachTarget) (string, error) {
	secrets := target.client.CoreV1().Secrets(target.namespace)
	existing, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("token %s is not attached to %s; nothing changed", name,
			target.where()), nil
	case err != nil:
		return "", fmt.Errorf("failed to read Secret %s/%s in cluster %s: %w",
			target.namespace, name, target.cluster, err)
	case !target.isOurs(existing, name):
		return "", fmt.Errorf("refusing to delete Secret %s/%s in cluster %s: it was not "+
			"written by kuberos-registry (it lacks the labels %s) and was left unchanged; "+
			"remove it there yourself if it is not needed",
			target.namespace, name, target.cluster, target.oursLabels(name))
	}

	// The preconditions keep a Secret replaced since it was read from being deleted.
	err = secrets.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{
		UID: &existing.UID, ResourceVersion: &existing.ResourceVersion,
	}})
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("token %s is not attached to %s; nothing changed", name,
			target.where()), nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to delete Secret %s/%s in cluster %s: %w",
			target.namespace, name, target.cluster, err)
	}
	return fmt.Sprintf("token %s detached from %s: deleted Secret %s/%s", name,
		target.where(), target.namespace, name), nil
}

// attachHasAll reports whether m holds every key of want with its value.
func attachHasAll(m, want map[string]string) bool {
	for key, value := range want {
		if got, ok := m[key]; !ok || got != value {
			return false
		}
	}
	return true
}

// attachMerge returns m with every key of add set to its value.
func attachMerge(m, add map[string]string) map[string]string {
	merged := maps.Clone(m)
	if merged == nil {
		merged = make(map[string]string, len(add))
	}
	maps.Copy(merged, add)
	return merged
}
