package sshserve

import (
	"context"
	"log/slog"

	"carvision/engine"
)

// EngineNotices is a Broadcaster over the engine's event stream: each
// session subscribes to c.Events and gets every event as one line, e.g.
// "promote · alice@laptop: champion is v7".
func EngineNotices(c engine.Client, log *slog.Logger) Broadcaster {
	if log == nil {
		log = slog.Default()
	}
	return BroadcastFunc(func(ctx context.Context) <-chan string {
		out := make(chan string, noticeBuffer)
		evs, err := c.Events(ctx)
		if err != nil {
			log.Warn("ssh notices: engine events unavailable", "err", err)
			close(out)
			return out
		}
		go func() {
			defer close(out)
			for {
				select {
				case <-ctx.Done():
					return
				case e, ok := <-evs:
					if !ok {
						return
					}
					select {
					case out <- FormatEvent(e):
					default: // this session is not keeping up: it loses this notice
					}
				}
			}
		}()
		return out
	})
}

// FormatEvent renders an engine event as a one-line notice naming its actor.
func FormatEvent(e engine.Event) string {
	s := e.Kind
	if e.Actor != "" {
		s += " · " + e.Actor
	}
	return oneLine(s+": "+e.Message, 300)
}
