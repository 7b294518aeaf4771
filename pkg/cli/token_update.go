package cli

import "github.com/spf13/cobra"

func newTokenUpdateCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenUpdateCommand"} }

func newTokenDeleteCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenDeleteCommand"} }
