// Command tuidemo opens the console on the fake engine, for trying the
// console without a model or data: go run ./tui/cmd/tuidemo [-readonly] [-theme mono].
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"carvision/engine"
	"carvision/tui"
	"carvision/tui/enginefake"
)

func main() {
	readOnly := flag.Bool("readonly", false, "refuse state-changing actions")
	themeName := flag.String("theme", "", "default | mono | light")
	mouse := flag.Bool("mouse", false, "capture the mouse")
	remote := flag.Bool("remote", false, "behave like a client attached with --api (no store)")
	demo := flag.Bool("demo", true, "start demo traffic")
	flag.Parse()

	opts := enginefake.Options{Demo: *demo}
	if *remote {
		opts.Caps = &engine.Capabilities{Logs: true, Demo: true,
			Why: "attached to a remote API (--api): models, retrain and config need the local store"}
	}
	fake := enginefake.New(opts)
	name := os.Getenv("USER")
	if name == "" {
		name = "operator"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := tui.Run(ctx, fake, tui.Options{Theme: *themeName, ReadOnly: *readOnly, Mouse: *mouse,
		Actor: engine.Actor{Name: name, Role: "operator"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tuidemo:", err)
		os.Exit(1)
	}
}
