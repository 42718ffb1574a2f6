package local_test

import (
	"context"
	"sync"
	"testing"

	"carvision/engine"
	"carvision/engine/local"
)

func TestZZRaceGate(t *testing.T) {
	_, cfgPath := project(t)
	ctx := context.Background()
	e, err := local.Open(ctx, local.Options{ConfigPath: cfgPath, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.EnsureChampion(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); e.ReloadConfig(ctx, engine.ActionRequest{}) }()
	go func() { defer wg.Done(); e.CompareModels(ctx, "1", "1") }()
	wg.Wait()
}
