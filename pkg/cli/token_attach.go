package cli

import "github.com/spf13/cobra"

func newTokenAttachCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenAttachCommand"} }

func newTokenDetachCommand(_ *Options) *cobra.Command { return &cobra.Command{Use: "newTokenDetachCommand"} }
