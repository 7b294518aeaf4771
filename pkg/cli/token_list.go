package cli

import "github.com/spf13/cobra"

func newTokenListCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenListCommand"} }

func newTokenInfoCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenInfoCommand"} }
