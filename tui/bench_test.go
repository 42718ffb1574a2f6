package tui

import (
	"fmt"
	"io"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// BenchmarkView renders every page of the busy state with a true-colour
// renderer (the worst case for styling). Targets: the busiest page ≤ 2 ms
// at 200×60 and ≤ 1 ms at 80×24.
//
//	go test ./tui -run '^$' -bench View -benchtime=200x
func BenchmarkView(b *testing.B) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	m := busy(b, nil) // driven in plain text, where waits can match it
	m.opts.Renderer = r
	m.setTheme("default")
	for _, sz := range [][2]int{{200, 60}, {80, 24}} {
		for _, p := range m.pages {
			b.Run(fmt.Sprintf("%s/%dx%d", p.ID(), sz[0], sz[1]), func(b *testing.B) {
				m.show(p.ID())
				viewAt(m, sz[0], sz[1])
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					_ = m.View()
				}
			})
		}
	}
}
