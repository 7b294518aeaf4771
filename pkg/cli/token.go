package cli

import "github.com/spf13/cobra"

func newTokenCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Aliases: []string{"tokens", "registry-token"},
		Short:   "Create, list, update, delete and attach registry tokens",
		Example: `  kuberos-registry token create -f registry_token.yaml
  kuberos-registry token list
  kuberos-registry token attach lab --cluster robot-cluster-2`,
	}
	cmd.AddCommand(
		newTokenCreateCommand(o),
		newTokenListCommand(o),
		newTokenInfoCommand(o),
		newTokenUpdateCommand(o),
		newTokenDeleteCommand(o),
		newTokenAttachCommand(o),
		newTokenDetachCommand(o),
	)
	return cmd
}
