package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"carvision/engine"
)

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter draws pipeline events: a one-line bar on a terminal,
// JSON lines with --json, plain lines otherwise.
func progressPrinter(w io.Writer, asJSON, tty bool) func(engine.PipelineEvent) {
	enc := json.NewEncoder(w)
	return func(e engine.PipelineEvent) {
		switch {
		case asJSON:
			_ = enc.Encode(e)
		case tty:
			if e.Status == "running" && e.Stage == "train" {
				const width = 30
				n := int(e.Fraction * width)
				if n > width {
					n = width
				}
				fmt.Fprintf(w, "\r\x1b[K%-9s [%s%s] %3.0f%%  ETA %-6s %s", e.Stage, strings.Repeat("█", n),
					strings.Repeat("░", width-n), 100*e.Fraction, e.ETA.Round(time.Second/10), e.Message)
				return
			}
			fmt.Fprintf(w, "\r\x1b[K%s\n", line(e))
		default:
			if e.Status == "running" && e.Stage == "train" && !strings.HasPrefix(e.Message, "train:") {
				return // per-tree lines would flood a log; the bar is for terminals
			}
			fmt.Fprintln(w, line(e))
		}
	}
}

func line(e engine.PipelineEvent) string {
	mark := map[string]string{"running": "▸", "done": "✓", "skipped": "·", "failed": "✗"}[e.Status]
	if mark == "" {
		mark = "-"
	}
	msg := e.Message
	if e.Err != "" {
		msg = e.Stage + ": " + e.Err
	}
	return fmt.Sprintf("%s %s", mark, msg)
}
