package cli

import "github.com/spf13/cobra"

func newCheckCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newCheckCommand"} }
