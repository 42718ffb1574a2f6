package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"carvision/engine/local"
)

func newServeCmd() *cobra.Command {
	var addr, modelFile, sshAddr, authKeys, hostKey string
	var readonly, demoOn bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (and the console over SSH with --ssh)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := openEngine(ctx, local.Options{ConfigPath: g.configPath, ReadOnly: readonly, APIAddr: addr, ModelFile: modelFile})
			if err != nil {
				return exit(2, err)
			}
			defer e.Close()
			if err := e.Start(ctx); err != nil {
				return exit(2, err)
			}
			at, err := e.Serve(ctx, "")
			if err != nil {
				return exit(2, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "carvision API on http://%s (health /health, metrics /metrics)\n", at)
			if demoOn {
				if err := e.SetDemo(ctx, true); err != nil {
					return exit(2, err)
				}
			}
			if lib, runner, err := runbookKit(ctx, e); err == nil {
				addRunbookPage(lib, runner)
			} else {
				e.Logger().Warn("runbooks unavailable", "err", err)
			}
			if err := startSSH(ctx, cmd, e, sshFlags{addr: sshAddr, authKeys: authKeys, hostKey: hostKey, readonly: readonly}); err != nil {
				return exit(2, err)
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					e.Logger().Info("shutting down: draining requests")
					return nil
				case <-hup:
					e.Logger().Info("SIGHUP: reloading model and config")
					e.ReloadAll(context.Background())
				}
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (default serve.addr, 127.0.0.1:8000)")
	cmd.Flags().StringVar(&modelFile, "model", "", "serve this model file instead of the store's champion")
	cmd.Flags().StringVar(&sshAddr, "ssh", "", "also serve the console over SSH on this address (default ssh.addr)")
	cmd.Flags().StringVar(&authKeys, "authorized-keys", "", "authorized_keys file for SSH (default ssh.authorized_keys_path)")
	cmd.Flags().StringVar(&hostKey, "host-key", "", "SSH host key path (default ssh.host_key_path)")
	cmd.Flags().BoolVar(&readonly, "readonly", false, "refuse every state-changing action")
	cmd.Flags().BoolVar(&demoOn, "demo", false, "send scripted demo traffic to this API (for trying the console)")
	return cmd
}

func newHealthCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Probe an API's /health (exit 0 healthy, 1 not): for container health checks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := &http.Client{Timeout: 5 * time.Second}
			resp, err := c.Get(url)
			if err != nil {
				return exit(1, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return exit(1, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "healthy")
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8000/health", "health URL")
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "carvision", local.Version) },
	}
}
