package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestConcurrentWritersAndReaders(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	const workers, perWorker = 8, 10
	registerN(t, s, 1)

	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*4)
	ids := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id, err := s.StartRun(ctx, RunStart{Who: fmt.Sprintf("worker-%d", w)})
				if err != nil {
					errs <- err
					return
				}
				ids <- id
				if _, err := s.FinishRun(ctx, id, RunSucceeded, "", sampleResult(5, 2)); err != nil {
					errs <- err
				}
				if _, err := s.AddEvent(ctx, Event{Kind: "retrain", Actor: "w"}); err != nil {
					errs <- err
				}
				if err := s.InsertPredictions(ctx, []PredictionRow{{Status: 200, Price: float64(i)}}); err != nil {
					errs <- err
				}
			}
		})
	}
	// Readers run alongside the writers.
	for range 3 {
		wg.Go(func() {
			for range 20 {
				if _, err := s.ListRuns(ctx, 50); err != nil {
					errs <- err
				}
				if _, err := s.ModelVersions(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	// Alias moves race too; each must be recorded with its event.
	wg.Go(func() {
		for range 10 {
			if err := s.SetAlias(ctx, AliasChampion, "1", Move{Actor: "a"}); err != nil {
				errs <- err
			}
			if _, err := s.Rollback(ctx, AliasChampion, Move{}); err == nil {
				errs <- fmt.Errorf("rollback with a single champion succeeded")
			}
			if _, err := s.AddEvent(ctx, Event{Kind: "noop"}); err != nil {
				errs <- err
			}
			// Move it away so the next SetAlias is a change.
			if _, err := s.w.ExecContext(ctx, `DELETE FROM aliases WHERE name = ?`, AliasChampion); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}

	const runs = workers * perWorker
	var all []string
	for id := range ids {
		all = append(all, id)
	}
	if len(all) != runs {
		t.Fatalf("%d run ids, want %d", len(all), runs)
	}
	sort.Strings(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("duplicate run id %s", all[i])
		}
	}
	checks := []struct {
		table, where string
		want         int
	}{
		{"runs", "status = 'succeeded'", runs + 1}, // + the registering run
		{"metrics", "", runs * 5},
		{"artifacts", "", runs * 2},
		{"predictions", "", runs},
		{"events", "kind = 'retrain'", runs},
		{"events", "kind = 'promote'", 10},
	}
	for _, c := range checks {
		if n := countRows(t, s, c.table, c.where); n != c.want {
			t.Errorf("%s where %q: %d rows, want %d", c.table, c.where, n, c.want)
		}
	}
}

// Two Stores on one file stand in for two processes: SQLite's lock and
// the busy timeout serialise them; nothing is lost.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carvision.db")
	a, err := OpenWith(path, Options{BusyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenWith(path, Options{BusyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for _, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for range 15 {
				id, err := s.StartRun(ctx, RunStart{})
				if err != nil {
					errs <- err
					continue
				}
				if _, err := s.FinishRun(ctx, id, RunSucceeded, "", sampleResult(10, 2)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := countRows(t, b, "runs", "status = 'succeeded'"); n != 60 {
		t.Errorf("%d succeeded runs, want 60", n)
	}
	if n := countRows(t, a, "metrics", ""); n != 600 {
		t.Errorf("%d metrics, want 600", n)
	}
}
