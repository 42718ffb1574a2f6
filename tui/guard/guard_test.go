package guard

import (
	"context"
	"errors"
	"strings"
	"testing"

	"carvision/engine"
	"carvision/tui/enginefake"
	"carvision/tui/keys"
)

var (
	promote = keys.Binding{Action: "models.promote", Short: "promote", Mutates: true, Confirm: true, Needs: keys.NeedStore}
	pause   = keys.Binding{Action: "monitor.pause", Short: "pause"}
	logs    = keys.Binding{Action: "logs.level", Short: "level", Needs: keys.NeedLogs}
	full    = engine.Capabilities{Store: true, Logs: true, Config: true, Demo: true}
)

func TestWhy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		b      keys.Binding
		want   string // substring; "" = allowed
	}{
		{"operator may promote", Policy{Caps: full}, promote, ""},
		{"--readonly refuses", Policy{ReadOnly: true, Caps: full}, promote, "--readonly"},
		{"viewer role refuses", Policy{Actor: engine.Actor{Role: "viewer"}, Caps: full}, promote, "role viewer"},
		{"read-only engine refuses", Policy{Caps: engine.Capabilities{Store: true, ReadOnly: true}}, promote, "read-only engine"},
		{"read-only allows looking", Policy{ReadOnly: true, Caps: full}, pause, ""},
		{"missing store says why", Policy{Caps: engine.Capabilities{Why: "attached to a remote API"}}, promote, "attached to a remote API"},
		{"missing logs without why", Policy{Caps: engine.Capabilities{}}, logs, "no service log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.Why(tc.b)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("Why = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClientRefusesMutationsInReadOnly(t *testing.T) {
	fake := enginefake.New(enginefake.Options{})
	c := Client(fake, Policy{ReadOnly: true, Caps: full})
	ctx := context.Background()
	if err := c.Promote(ctx, "3", engine.ActionRequest{}); !errors.Is(err, engine.ErrReadOnly) {
		t.Fatalf("Promote: %v", err)
	}
	if err := c.Rollback(ctx, engine.ActionRequest{}); !errors.Is(err, engine.ErrReadOnly) {
		t.Fatalf("Rollback: %v", err)
	}
	if _, err := c.Retrain(ctx, engine.RetrainRequest{}); !errors.Is(err, engine.ErrReadOnly) {
		t.Fatalf("Retrain: %v", err)
	}
	if _, err := c.ReloadConfig(ctx, engine.ActionRequest{}); !errors.Is(err, engine.ErrReadOnly) {
		t.Fatalf("ReloadConfig: %v", err)
	}
	if fake.Calls("Promote")+fake.Calls("Rollback")+fake.Calls("Retrain")+fake.Calls("ReloadConfig") != 0 {
		t.Fatal("a refused call reached the engine")
	}
	if !c.Capabilities().ReadOnly {
		t.Fatal("capabilities should say read-only")
	}
	if _, err := c.Models(ctx); err != nil {
		t.Fatalf("reads must still work: %v", err)
	}
	if Client(fake, Policy{Caps: full}) != engine.Client(fake) {
		t.Fatal("an operator's client should not be wrapped")
	}
}
