// Temporary stand-in for `carvision serve --ssh`, to exercise e2e_ssh.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"

	"carvision/tui/sshserve"
)

type model struct {
	info  sshserve.SessionInfo
	page  int
	enter int
	w, h  int
}

var titles = []string{"Overview", "Monitor", "Drift", "Predict", "Retrain", "Models", "Logs", "Config"}
var bodies = []string{"Recent events", "Latency p95", "Features by severity", "Predict form: year [2015]", "Pipeline stages", "version  RMSE", "Logs follow", "Config valid"}

func (m *model) Init() tea.Cmd { return nil }
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
	case tea.KeyMsg:
		k := msg.String()
		switch {
		case k == "q":
			return m, tea.Quit
		case len(k) == 1 && k[0] >= '1' && k[0] <= '8':
			m.page = int(k[0] - '1')
			m.enter = 0
		case k == "enter" && m.page == 3:
			m.enter++
		}
	}
	return m, nil
}
func (m *model) View() string {
	var b strings.Builder
	fmt.Fprintf(&b, " CarVision  ok · model v1 · %s (%s) %dx%d\n", m.info.Actor.Name, m.info.Actor.Role, m.w, m.h)
	for i, t := range titles {
		fmt.Fprintf(&b, " %d %s ", i+1, t)
	}
	b.WriteString("\n\n" + bodies[m.page] + "\n")
	if m.page == 3 && m.enter >= 3 {
		b.WriteString("Result: $12,345 (v1, 3ms)\n")
	}
	return b.String()
}

func main() {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	sshAddr := fs.String("ssh", "", "")
	keys := fs.String("authorized-keys", "", "")
	host := fs.String("host-key", "", "")
	_ = fs.String("addr", "", "")
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: e2estub serve ...")
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := sshserve.New(sshserve.Options{
		Addr: *sshAddr, HostKeyPath: *host, AuthorizedKeysPath: *keys, MaxSessions: 4,
		Factory: func(i sshserve.SessionInfo) (tea.Model, error) { return &model{info: i}, nil },
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
