package cli

import "github.com/spf13/cobra"

func newClusterCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newClusterCommand"} }
