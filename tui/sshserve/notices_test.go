package sshserve

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"carvision/engine"
)

type eventsClient struct {
	engine.Client
	ch  chan engine.Event
	err error
}

func (c eventsClient) Events(context.Context) (<-chan engine.Event, error) { return c.ch, c.err }

func TestEngineNotices(t *testing.T) {
	c := eventsClient{ch: make(chan engine.Event, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	sub := EngineNotices(c, slog.New(slog.DiscardHandler)).Subscribe(ctx)
	c.ch <- engine.Event{Kind: "promote", Actor: "alice@laptop", Message: "champion is v7\x1b[2J"}
	c.ch <- engine.Event{Kind: "alert", Message: "latency p95 firing"}
	for _, want := range []string{"promote · alice@laptop: champion is v7", "alert: latency p95 firing"} {
		select {
		case got := <-sub:
			if got != want {
				t.Errorf("notice %q, want %q", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("no notice %q", want)
		}
	}
	cancel()
	select {
	case _, ok := <-sub:
		if ok {
			t.Error("notice after the subscription ended")
		}
	case <-time.After(wait):
		t.Error("subscription not closed when its context ended")
	}

	failing := eventsClient{err: errors.New("no events over HTTP")}
	if _, ok := <-EngineNotices(failing, nil).Subscribe(context.Background()); ok {
		t.Error("a failed subscription delivered a notice")
	}
}
