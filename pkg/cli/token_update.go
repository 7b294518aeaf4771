package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kuberos-io/kuberos-registry/pkg/contract"
	"github.com/kuberos-io/kuberos-registry/pkg/token"
)

// tokenUpdateFlags are the flags of `token update`.
type tokenUpdateFlags struct {
	file              string
	tokenStdin        bool
	userName          string
	registryURL       string
	description       string
	allowedNamespaces string
}

// tokenUpdateFlagNames are the flags that change a field, as the errors list them.
var tokenUpdateFlagNames = []string{
	"token-stdin", "user-name", "registry-url", "description", "allowed-namespaces",
}

// tokenChange is what an update sets; a nil field keeps the stored value.
type tokenChange struct {
	token             *string
	userName          *string
	registryURL       *string
	description       *string
	allowedNamespaces *string
}

// tokenUpdate is the outcome of applying a change to a token.
type tokenUpdate struct {
	// secret is the token as it should be stored.
	secret *corev1.Secret
	// changes name the fields that changed, in words.
	changes []string
	// dataChanged is true when .dockerconfigjson was rendered again.
	dataChanged bool
}

func newTokenUpdateCommand(o *Options) *cobra.Command {
	f := &tokenUpdateFlags{}
	cmd := &cobra.Command{
		Use:   "update NAME (-f FILE | --token-stdin | --user-name USER | ...)",
		Short: "Rotate a registry token or change its fields",
		Long: `Change a stored registry token: rotate the token (read from standard input with
--token-stdin, or from a RegistryToken file with -f), or change its user name, registry URL,
description or allowed namespaces. Fields not given keep their values; a change of user name
or registry URL keeps the token.

A file replaces the token, user name and registry URL; its description and allowedNamespaces
replace the stored ones when it sets them. Its metadata.name must be NAME.

--allowed-namespaces "" allows every opted-in namespace again. A copy in a namespace the token
no longer allows is deleted. The webhook's controller updates the other copies.`,
		Example: `  # rotate the token
  printf '%s' "$NEW_TOKEN" | kuberos-registry token update lab --token-stdin

  # rotate from the KubeROS template
  kuberos-registry token update kuberos-registry-token-default -f registry_token.yaml

  # keep the token to team A's namespaces; copies elsewhere are deleted
  kuberos-registry token update lab --allowed-namespaces 'team-a-*'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			change, err := f.change(cmd, args[0], o.Streams.In)
			if err != nil {
				return err
			}
			cs, err := o.Client("")
			if err != nil {
				return err
			}
			return updateStoredToken(cmd.Context(), cs, o, args[0], change)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&f.file, "filename", "f", "", "a KubeROS RegistryToken file")
	flags.BoolVar(&f.tokenStdin, "token-stdin", false, "read the new token from standard input")
	flags.StringVar(&f.userName, "user-name", "", "new user name in the registry")
	flags.StringVar(&f.registryURL, "registry-url", "", "new registry host, port and path")
	flags.StringVar(&f.description, "description", "", "new description; \"\" removes it")
	flags.StringVar(&f.allowedNamespaces, "allowed-namespaces", "",
		"namespaces the token may be copied into, comma-separated; \"\" allows every "+
			"opted-in namespace")
	return cmd
}

// change builds the change from the file or from the flags given.
func (f *tokenUpdateFlags) change(cmd *cobra.Command, name string, in io.Reader) (
	tokenChange,
	error,
) {
	var given []string
	for _, flag := range tokenUpdateFlagNames {
		if cmd.Flags().Changed(flag) && (flag != "token-stdin" || f.tokenStdin) {
			given = append(given, "--"+flag)
		}
	}
	if f.file != "" {
		if len(given) > 0 {
			return tokenChange{}, fmt.Errorf("-f takes every field from the file: remove %s, "+
				"or drop -f", strings.Join(given, ", "))
		}
		return tokenChangeFromFile(f.file, name)
	}
	if len(given) == 0 {
		return tokenChange{}, errors.New("nothing to update: give -f FILE, or one or more " +
			"of --" + strings.Join(tokenUpdateFlagNames, ", --"))
	}

	var c tokenChange
	if f.tokenStdin {
		secret, err := readTokenStdin(in)
		if err != nil {
			return tokenChange{}, err
		}
		c.token = &secret
	}
	for flag, field := range map[string]**string{
		"user-name":          &c.userName,
		"registry-url":       &c.registryURL,
		"description":        &c.description,
		"allowed-namespaces": &c.allowedNamespaces,
	} {
		if cmd.Flags().Changed(flag) {
			value, _ := cmd.Flags().GetString(flag) // a string flag of this command
			*field = &value
		}
	}
	return c, nil
}

// tokenChangeFromFile reads a RegistryToken file as a change of the named token.
func tokenChangeFromFile(path, name string) (tokenChange, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: reading the file the user names
	if err != nil {
		return tokenChange{}, fmt.Errorf("failed to read the token file: %w", err)
	}
	spec, err := token.ParseFile(data)
	if err != nil {
		return tokenChange{}, fmt.Errorf("%s: %w", path, err)
	}
	if spec.Name != name {
		return tokenChange{}, fmt.Errorf("%s is token %s, not %s: set metadata.name to %s, "+
			"or update %s", path, spec.Name, name, name, spec.Name)
	}
	c := tokenChange{token: &spec.Token, userName: &spec.UserName,
		registryURL: &spec.RegistryURL}
	if spec.Description != "" {
		c.description = &spec.Description
	}
	if spec.AllowedNamespaces != "" {
		c.allowedNamespaces = &spec.AllowedNamespaces
	}
	return c, nil
}

// updateStoredToken applies the change to the token with optimistic concurrency, deletes the
// copies the token no longer allows, and reports both.
func updateStoredToken(
	ctx context.Context,
	cs kubernetes.Interface,
	o *Options,
	name string,
	change tokenChange,
) error {
	var result tokenUpdate
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := getStoredToken(ctx, cs, o, name)
		if err != nil {
			return err
		}
		result, err = applyTokenChange(current, change)
		if err != nil || len(result.changes) == 0 {
			return err
		}
		// The update carries the resourceVersion read above: a concurrent write is a conflict.
		updated, err := cs.CoreV1().Secrets(o.TokenNamespace).Update(ctx, result.secret,
			metav1.UpdateOptions{FieldManager: contract.FieldManager})
		if err != nil {
			return fmt.Errorf("failed to update token %s in namespace %s: %w",
				name, o.TokenNamespace, err)
		}
		result.secret = updated
		return nil
	})
	if err != nil {
		return err
	}

	removed, pruneErr := deleteDisallowedCopies(ctx, cs, result.secret)

	switch {
	case len(result.changes) == 0:
		fmt.Fprintf(o.Streams.Out, "token %s unchanged\n", name)
	case result.dataChanged:
		fmt.Fprintf(o.Streams.Out, "token %s updated: %s; copies are updated by the "+
			"controller\n", name, strings.Join(result.changes, ", "))
	default:
		fmt.Fprintf(o.Streams.Out, "token %s updated: %s\n", name,
			strings.Join(result.changes, ", "))
	}
	for _, namespace := range removed {
		fmt.Fprintf(o.Streams.Out, "removed the copy from namespace %s (no longer allowed)\n",
			namespace)
	}
	return pruneErr
}

// applyTokenChange returns the token with the change applied, validated, and what changed.
// .dockerconfigjson is rendered again when the token, the user name or the registry URL
// changes; without a new token, the stored password is kept.
func applyTokenChange(current *corev1.Secret, change tokenChange) (tokenUpdate, error) {
	old := token.Spec{
		Name:        current.Name,
		RegistryURL: token.RegistryURL(current),
		UserName:    current.Annotations[contract.UserName],
		Description: current.Annotations[contract.Description],
	}
	if normalized, err := token.NormalizeRegistryURL(old.RegistryURL); err == nil {
		old.RegistryURL = normalized
	}
	oldAllowed, hadAllowed := current.Annotations[contract.AllowedNamespaces]
	oldPassword, havePassword := storedPassword(current)

	next := old
	next.Token = oldPassword
	next.AllowedNamespaces = oldAllowed
	for _, field := range []struct {
		value  *string
		target *string
	}{
		{change.token, &next.Token},
		{change.userName, &next.UserName},
		{change.registryURL, &next.RegistryURL},
		{change.description, &next.Description},
		{change.allowedNamespaces, &next.AllowedNamespaces},
	} {
		if field.value != nil {
			*field.target = *field.value
		}
	}
	// Validate checks every field this update writes. When the stored password cannot be
	// read, the stored data is kept as it is (checked below), so a stand-in passes its rule.
	checked := next
	if checked.Token == "" {
		checked.Token = "kept"
	}
	if err := checked.Validate(); err != nil {
		return tokenUpdate{}, err
	}
	next.RegistryURL = checked.RegistryURL

	var u tokenUpdate
	rotated := change.token != nil && (!havePassword || *change.token != oldPassword)
	if rotated {
		u.changes = append(u.changes, "token rotated")
	}
	if next.UserName != old.UserName {
		u.changes = append(u.changes, "user name changed")
	}
	if next.RegistryURL != old.RegistryURL {
		u.changes = append(u.changes, "registry URL changed")
	}
	u.dataChanged = len(u.changes) > 0
	if u.dataChanged && next.Token == "" {
		return tokenUpdate{}, fmt.Errorf("cannot keep the token of %s: its %s holds no "+
			"password for %s; give the token again with --token-stdin",
			current.Name, corev1.DockerConfigJsonKey, old.RegistryURL)
	}
	descriptionChanged := next.Description != old.Description
	if descriptionChanged {
		u.changes = append(u.changes, "description changed")
	}
	allowed := strings.Join(token.AllowedPatterns(next.AllowedNamespaces), ",")
	allowedChanged := change.allowedNamespaces != nil &&
		(hadAllowed != (allowed != "") || (allowed != "" && allowed != oldAllowed))
	if allowedChanged {
		u.changes = append(u.changes, "allowed namespaces changed")
	}

	u.secret = current.DeepCopy()
	annotations := u.secret.Annotations
	if annotations == nil {
		annotations = map[string]string{}
		u.secret.Annotations = annotations
	}
	if u.dataChanged {
		annotations[contract.UserName] = next.UserName
		annotations[contract.RegistryURL] = next.RegistryURL
		config, err := token.DockerConfigJSON(next.RegistryURL, next.UserName, next.Token)
		if err != nil {
			return tokenUpdate{}, err
		}
		if u.secret.Data == nil {
			u.secret.Data = map[string][]byte{}
		}
		u.secret.Data[corev1.DockerConfigJsonKey] = config
	}
	if descriptionChanged {
		setOrDelete(annotations, contract.Description, next.Description)
	}
	if allowedChanged {
		setOrDelete(annotations, contract.AllowedNamespaces, allowed)
	}
	return u, nil
}

// setOrDelete sets the annotation, or removes it when the value is empty.
func setOrDelete(annotations map[string]string, key, value string) {
	if value == "" {
		delete(annotations, key)
		return
	}
	annotations[key] = value
}

// storedPassword returns the password of the token's registry in its .dockerconfigjson, so
// that a change of user name or registry URL keeps it. The entry of the registry URL is
// used, else the only entry; the password field, else the password in auth. ok is false when
// there is none.
func storedPassword(secret *corev1.Secret) (string, bool) {
	type entry struct {
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	var config struct {
		Auths map[string]entry `json:"auths"`
	}
	if json.Unmarshal(secret.Data[corev1.DockerConfigJsonKey], &config) != nil {
		return "", false
	}
	e, found := config.Auths[token.RegistryURL(secret)]
	if !found && len(config.Auths) == 1 {
		for _, only := range config.Auths {
			e, found = only, true
		}
	}
	if !found {
		return "", false
	}
	if e.Password != "" {
		return e.Password, true
	}
	decoded, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		return "", false
	}
	_, password, ok := strings.Cut(string(decoded), ":")
	return password, ok && password != ""
}

// deleteDisallowedCopies deletes the copies of the token in namespaces it does not allow, and
// returns those namespaces.
func deleteDisallowedCopies(
	ctx context.Context,
	cs kubernetes.Interface,
	tok *corev1.Secret,
) ([]string, error) {
	copies, err := listTokenCopies(ctx, cs, tok.Name)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for i := range copies {
		if token.Allows(tok, copies[i].Namespace) {
			continue
		}
		deleted, err := deleteTokenCopy(ctx, cs, &copies[i])
		if err != nil {
			errs = append(errs, err)
		} else if deleted {
			removed = append(removed, copies[i].Namespace)
		}
	}
	return removed, errors.Join(errs...)
}

// deleteTokenCopy deletes the copy it was given and no other object: the UID precondition
// makes the API server refuse when the name has passed to another Secret since it was listed.
// A copy already gone (the controller may be faster) counts as deleted.
func deleteTokenCopy(ctx context.Context, cs kubernetes.Interface, c *corev1.Secret) (
	bool,
	error,
) {
	if !token.IsCopy(c) {
		return false, nil
	}
	uid := c.UID
	err := cs.CoreV1().Secrets(c.Namespace).Delete(ctx, c.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return true, nil
	case apierrors.IsConflict(err):
		return false, nil // another Secret holds the name now: it is not ours to delete
	}
	return false, fmt.Errorf("failed to delete the copy %s/%s: %w", c.Namespace, c.Name, err)
}

func newTokenDeleteCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a registry token and every copy of it",
		Long: `Delete a registry token from the token store, then every copy of it in all
namespaces. Only Secrets labelled as copies of the token are deleted; another Secret of the
same name is left alone. Pods already running keep their images; new Pods that need the
token are admitted with a warning, or denied, as the webhook is configured.`,
		Example: `  kuberos-registry token delete kuberos-registry-token-default`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := o.Client("")
			if err != nil {
				return err
			}
			return deleteStoredToken(cmd.Context(), cs, o, args[0])
		},
	}
}

// deleteStoredToken deletes the token, then its copies: those listed before and after the
// token went, so that a copy made in between is not left behind.
func deleteStoredToken(
	ctx context.Context,
	cs kubernetes.Interface,
	o *Options,
	name string,
) error {
	tok, err := getStoredToken(ctx, cs, o, name)
	if err != nil {
		return err
	}
	before, err := listTokenCopies(ctx, cs, name)
	if err != nil {
		return err
	}

	uid := tok.UID
	err = cs.CoreV1().Secrets(o.TokenNamespace).Delete(ctx, name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case apierrors.IsConflict(err):
		return fmt.Errorf("token %s was replaced while it was being deleted: run the "+
			"command again", name)
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("failed to delete token %s in namespace %s: %w",
			name, o.TokenNamespace, err)
	}
	after, err := listTokenCopies(ctx, cs, name)
	if err != nil {
		return fmt.Errorf("token %s deleted, but its copies were not: %w", name, err)
	}

	seen := map[string]bool{}
	namespaces := map[string]bool{}
	deleted := 0
	var errs []error
	for _, c := range append(before, after...) {
		if seen[string(c.UID)] {
			continue
		}
		seen[string(c.UID)] = true
		gone, err := deleteTokenCopy(ctx, cs, &c)
		switch {
		case err != nil:
			errs = append(errs, err)
		case gone:
			deleted++
			namespaces[c.Namespace] = true
		}
	}
	fmt.Fprintln(o.Streams.Out, deletedMessage(name, deleted, namespaces))
	return errors.Join(errs...)
}

// deletedMessage says how many copies went with the token, and where.
func deletedMessage(name string, copies int, namespaces map[string]bool) string {
	if copies == 0 {
		return fmt.Sprintf("token %s deleted; it had no copies", name)
	}
	names := make([]string, 0, len(namespaces))
	for namespace := range namespaces {
		names = append(names, namespace)
	}
	sort.Strings(names)
	return fmt.Sprintf("token %s deleted, and %s in %s (%s)", name,
		plural(copies, "copy", "copies"), plural(len(names), "namespace", "namespaces"),
		strings.Join(names, ", "))
}

// plural renders a count with the noun in the right number.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
