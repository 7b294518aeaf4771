package cli

import "github.com/spf13/cobra"

func newTokenCreateCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenCreateCommand"} }
