package main

import "github.com/spf13/cobra"

func newRunbookCmd() *cobra.Command {
	return &cobra.Command{Use: "runbook", Short: "List, show and run troubleshooting runbooks"}
}
