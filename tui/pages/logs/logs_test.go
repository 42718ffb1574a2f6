package logs

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"carvision/engine"
	"carvision/tui/keys"
	"carvision/tui/page"
	"carvision/tui/theme"
)

func line(sec int, level, msg string) engine.LogLine {
	at := time.Unix(int64(1_700_000_000+sec), 0)
	return engine.LogLine{At: at, Level: level, Message: msg, Raw: level + " " + msg}
}

func newPage(t *testing.T) *Page {
	th, _ := theme.New("mono", nil)
	p := New(&page.Context{Theme: th}).(*Page)
	p.SetSize(80, 6, true)
	return p
}

func TestMergeDropsOverlapAndKeepsOrder(t *testing.T) {
	p := newPage(t)
	p.Update(linesMsg{lines: []engine.LogLine{line(1, "info", "a"), line(2, "info", "b"), line(2, "warn", "c")}})
	// The next answer overlaps the previous one.
	p.Update(linesMsg{lines: []engine.LogLine{line(2, "info", "b"), line(2, "warn", "c"), line(3, "error", "d")}})
	if p.buf.Len() != 4 {
		t.Fatalf("%d lines kept, want 4", p.buf.Len())
	}
	view := ansi.Strip(p.View())
	for _, want := range []string{"INFO  b", "WARN  c", "ERROR d"} {
		if !strings.Contains(view, want) {
			t.Fatalf("view lacks %q:\n%s", want, view)
		}
	}
}

func TestNewestFirstAnswersAreOrdered(t *testing.T) {
	p := newPage(t)
	p.Update(linesMsg{lines: []engine.LogLine{line(3, "info", "c"), line(2, "info", "b"), line(1, "info", "a")}})
	p.Update(linesMsg{lines: []engine.LogLine{line(4, "info", "d"), line(3, "info", "c")}})
	var got []string
	for _, l := range p.buf.Items() {
		got = append(got, l.Message)
	}
	if strings.Join(got, "") != "abcd" {
		t.Fatalf("buffer order %v, want a b c d", got)
	}
}

func TestLevelAndSearchFilter(t *testing.T) {
	p := newPage(t)
	p.Update(linesMsg{lines: []engine.LogLine{line(1, "debug", "tick"), line(2, "info", "served"),
		line(3, "warn", "slow request"), line(4, "error", "write failed")}})
	p.Update(page.ActionMsg{Action: Level}) // info → warn
	view := ansi.Strip(p.View())
	if strings.Contains(view, "served") || !strings.Contains(view, "slow request") || !strings.Contains(view, "2/4 lines") {
		t.Fatalf("level ≥ warn:\n%s", view)
	}
	p.SetFilter("WRITE")
	view = ansi.Strip(p.View())
	if strings.Contains(view, "slow request") || !strings.Contains(view, "write failed") {
		t.Fatalf("search is case-insensitive:\n%s", view)
	}
}

func TestScrollingPausesFollow(t *testing.T) {
	p := newPage(t)
	var lines []engine.LogLine
	for i := 0; i < 50; i++ {
		lines = append(lines, line(i, "info", "n"+strings.Repeat("x", i%3)))
	}
	p.Update(linesMsg{lines: lines})
	p.Update(page.ActionMsg{Action: keys.Up})
	if p.follow {
		t.Fatal("scrolling up must pause following")
	}
	if !strings.Contains(ansi.Strip(p.View()), "paused") {
		t.Fatal("paused state not shown")
	}
	p.Update(page.ActionMsg{Action: keys.Bottom})
	if !p.follow {
		t.Fatal("G must resume following")
	}
	// A tick of a hidden page is stale and does nothing.
	gen := p.Activate()
	p.Stop()
	if cmd := p.Update(page.TickMsg{Gen: gen}); cmd != nil {
		t.Fatal("a hidden page kept polling")
	}
}

func TestBufferIsBounded(t *testing.T) {
	p := newPage(t)
	for chunk := 0; chunk < 12; chunk++ {
		var ls []engine.LogLine
		for i := 0; i < 1000; i++ {
			ls = append(ls, line(chunk*1000+i, "info", "x"))
		}
		p.Update(linesMsg{lines: ls})
	}
	if p.buf.Len() != Buffer {
		t.Fatalf("buffer holds %d lines, want the bound %d", p.buf.Len(), Buffer)
	}
}
