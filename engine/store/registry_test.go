package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// registerN registers n versions, each from its own succeeded run.
func registerN(t *testing.T, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for i := range n {
		id := mustStart(t, s)
		res := RunResult{Model: &NewModel{
			Path: "models/model.cvm", SHA256: sha(string(rune('a' + i))),
			Metrics: map[string]float64{"rmse": 5000 - float64(i)*100, "r2": 0.7 + float64(i)/100},
			Params:  map[string]string{"seed": "42"},
		}}
		v, err := s.FinishRun(ctx, id, RunSucceeded, "", res)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestRegisterModel(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	run := mustStart(t, s)
	schema := `{"features":[{"name":"vehicle_age","kind":"numeric"}]}`
	v, err := s.RegisterModel(ctx, NewModel{
		RunID: run, Path: "models/v1.cvm", SHA256: strings.ToUpper(sha("v1")),
		Metrics: map[string]float64{"rmse": 4100, "r2": 0.82}, Params: map[string]string{"seed": "42"},
		SchemaJSON: schema, Alias: AliasChallenger, Move: Move{Actor: "repro"},
	})
	if err != nil || v != "1" {
		t.Fatalf("RegisterModel = %q, %v", v, err)
	}
	got, err := s.ModelVersion(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	want := ModelVersion{Version: "1", RunID: run, Path: "models/v1.cvm", SHA256: sha("v1"), CreatedAt: clk.Now(),
		Metrics: map[string]float64{"rmse": 4100, "r2": 0.82}, Params: map[string]string{"seed": "42"},
		SchemaJSON: json.RawMessage(schema), Aliases: []string{AliasChallenger}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("version 1\n got %+v\nwant %+v", got, want)
	}
	if e := got.Engine(); e.Version != "1" || e.RunID != run || !reflect.DeepEqual(e.Aliases, want.Aliases) {
		t.Errorf("Engine() = %+v", e)
	}

	v2, err := s.RegisterModel(ctx, NewModel{RunID: run, Path: "models/v2.cvm", SHA256: sha("v2")})
	if err != nil || v2 != "2" {
		t.Fatalf("second RegisterModel = %q, %v", v2, err)
	}
	all, err := s.ModelVersions(ctx)
	if err != nil || len(all) != 2 || all[0].Version != "2" || all[1].Version != "1" {
		t.Fatalf("ModelVersions = %+v, %v", all, err)
	}
	if len(all[0].Aliases) != 0 || all[0].Aliases == nil || !reflect.DeepEqual(all[0].Metrics, map[string]float64{}) || string(all[0].SchemaJSON) != "{}" {
		t.Errorf("version 2 defaults = %+v", all[0])
	}

	evs, _ := s.Events(ctx, clk.Now(), 0)
	kinds := []string{}
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if !reflect.DeepEqual(kinds, []string{EventRegister, EventAlias, EventRegister}) {
		t.Errorf("events newest first = %v", kinds)
	}
}

func TestRegisterModelRejects(t *testing.T) {
	tests := []struct {
		name string
		m    func(run string) NewModel
		want string
		is   error
	}{
		{"no run", func(string) NewModel { return NewModel{Path: "m", SHA256: sha("m")} }, "empty run id", nil},
		{"unknown run", func(string) NewModel { return NewModel{RunID: "01NOPE", Path: "m", SHA256: sha("m")} }, "01NOPE", ErrNotFound},
		{"no path", func(r string) NewModel { return NewModel{RunID: r, SHA256: sha("m")} }, "empty path", nil},
		{"bad sha", func(r string) NewModel { return NewModel{RunID: r, Path: "m", SHA256: sha("m")[:63] + "z"} }, "64 hex", nil},
		{"bad schema", func(r string) NewModel {
			return NewModel{RunID: r, Path: "m", SHA256: sha("m"), SchemaJSON: "{"}
		}, "schema", nil},
		{"NaN metric", func(r string) NewModel {
			return NewModel{RunID: r, Path: "m", SHA256: sha("m"), Metrics: map[string]float64{"r2": nan()}}
		}, `metric "r2"`, nil},
		{"alias to nothing", func(r string) NewModel { return NewModel{RunID: r, Path: "m", SHA256: sha("m"), Alias: ""} }, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			run := mustStart(t, s)
			_, err := s.RegisterModel(context.Background(), tc.m(run))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("RegisterModel = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("RegisterModel = %v, want error containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if n := countRows(t, s, "model_versions", ""); n != 0 {
				t.Errorf("%d versions written", n)
			}
		})
	}
}

func TestSetAliasRecordsEvent(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	registerN(t, s, 2)
	clk.Advance(5 * time.Second)
	if err := s.SetAlias(ctx, AliasChampion, "1", Move{Actor: "alice", Reason: "first model"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias(ctx, AliasChampion, "2", Move{Actor: "bob", Reason: "better rmse"}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.AliasHistory(ctx, AliasChampion)
	if err != nil || len(hist) != 2 {
		t.Fatalf("AliasHistory = %+v, %v", hist, err)
	}
	want := []Event{
		{ID: hist[0].ID, At: clk.Now(), Kind: EventPromote, Actor: "alice", Reason: "first model", Alias: AliasChampion, ToVersion: "1", Message: "champion: none → 1"},
		{ID: hist[1].ID, At: clk.Now(), Kind: EventPromote, Actor: "bob", Reason: "better rmse", Alias: AliasChampion, FromVersion: "1", ToVersion: "2", Message: "champion: 1 → 2"},
	}
	if !reflect.DeepEqual(hist, want) {
		t.Errorf("history\n got %+v\nwant %+v", hist, want)
	}
	if v, ok, err := s.Alias(ctx, AliasChampion); v != "2" || !ok || err != nil {
		t.Errorf("Alias = %q %v %v", v, ok, err)
	}
	if _, ok, err := s.Alias(ctx, "staging"); ok || err != nil {
		t.Errorf("Alias(unset) = ok %v, %v", ok, err)
	}

	before := countRows(t, s, "events", "")
	refusals := []struct {
		name, alias, version string
		is                   error
		want                 string
	}{
		{"same version", AliasChampion, "2", ErrAliasUnchanged, "already version 2"},
		{"unknown version", AliasChampion, "9", ErrNotFound, "model version 9"},
		{"not a version", AliasChampion, "latest", nil, `"latest"`},
		{"zero", AliasChampion, "0", nil, "positive"},
		{"empty alias", "", "1", nil, "empty alias"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			err := s.SetAlias(ctx, tc.alias, tc.version, Move{Actor: "mallory"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("SetAlias(%q, %q) = %v", tc.alias, tc.version, err)
			}
		})
	}
	if after := countRows(t, s, "events", ""); after != before {
		t.Errorf("refused moves wrote %d events", after-before)
	}
	if v, _, _ := s.Alias(ctx, AliasChampion); v != "2" {
		t.Errorf("champion moved to %s by a refused move", v)
	}
	aliases, err := s.Aliases(ctx)
	if err != nil || !reflect.DeepEqual(aliases, map[string]string{AliasChampion: "2"}) {
		t.Errorf("Aliases = %v, %v", aliases, err)
	}
}

func TestRollbackChain(t *testing.T) {
	type op struct {
		do      string // promote V | rollback
		want    string // champion after the op
		wantErr error
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"unwinds 3 → 2 → 1 then stops", []op{
			{"promote 1", "1", nil}, {"promote 2", "2", nil}, {"promote 3", "3", nil},
			{"rollback", "2", nil}, {"rollback", "1", nil}, {"rollback", "1", ErrNoPrevious},
		}},
		{"promote after rollback", []op{
			{"promote 1", "1", nil}, {"promote 2", "2", nil}, {"rollback", "1", nil},
			{"promote 3", "3", nil}, {"rollback", "1", nil}, {"rollback", "1", ErrNoPrevious},
		}},
		{"re-promoting an old version", []op{
			{"promote 1", "1", nil}, {"promote 2", "2", nil}, {"promote 1", "1", nil},
			{"rollback", "2", nil}, {"rollback", "1", nil},
		}},
		{"nothing to roll back to", []op{
			{"promote 2", "2", nil}, {"rollback", "2", ErrNoPrevious},
		}},
		{"alias never set", []op{
			{"rollback", "", ErrNotFound},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			registerN(t, s, 3)
			for i, o := range tc.ops {
				var err error
				if v, ok := strings.CutPrefix(o.do, "promote "); ok {
					err = s.SetAlias(ctx, AliasChampion, v, Move{Actor: "ops", Reason: "step"})
				} else {
					var to string
					from, _, _ := s.Alias(ctx, AliasChampion)
					to, err = s.Rollback(ctx, AliasChampion, Move{Actor: "oncall", Reason: "p99 regression"})
					if err == nil {
						if to != o.want {
							t.Errorf("op %d: Rollback returned %q, want %q", i, to, o.want)
						}
						hist, _ := s.AliasHistory(ctx, AliasChampion)
						last := hist[len(hist)-1]
						if last.Kind != EventRollback || last.FromVersion != from || last.ToVersion != to || last.Actor != "oncall" || last.Reason != "p99 regression" {
							t.Errorf("op %d: rollback event = %+v", i, last)
						}
					}
				}
				if !errors.Is(err, o.wantErr) {
					t.Fatalf("op %d (%s): err = %v, want %v", i, o.do, err, o.wantErr)
				}
				got, _, _ := s.Alias(ctx, AliasChampion)
				if got != o.want {
					t.Fatalf("op %d (%s): champion = %q, want %q", i, o.do, got, o.want)
				}
			}
		})
	}
}

func TestRollbackIgnoresOtherAliases(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	registerN(t, s, 3)
	steps := []struct{ alias, v string }{{AliasChampion, "1"}, {AliasChallenger, "3"}, {AliasChampion, "2"}, {AliasChallenger, "2"}}
	for _, st := range steps {
		if err := s.SetAlias(ctx, st.alias, st.v, Move{}); err != nil {
			t.Fatal(err)
		}
	}
	if to, err := s.Rollback(ctx, AliasChampion, Move{}); err != nil || to != "1" {
		t.Errorf("Rollback(champion) = %q, %v; want 1", to, err)
	}
	if v, _, _ := s.Alias(ctx, AliasChallenger); v != "2" {
		t.Errorf("challenger moved to %s", v)
	}
}

func TestPromotingTheChallengerClearsIt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		challenger string
		promote    string
		left       string // challenger after the promote, "" = none
	}{
		{"the challenger is promoted", "3", "3", ""},
		{"another version is promoted", "3", "2", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			registerN(t, s, 3)
			if err := s.SetAlias(ctx, AliasChampion, "1", Move{}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetAlias(ctx, AliasChallenger, tc.challenger, Move{}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetAlias(ctx, AliasChampion, tc.promote, Move{Actor: "op", Reason: "better"}); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Alias(ctx, AliasChallenger)
			if err != nil || (tc.left == "") == ok || got != tc.left {
				t.Fatalf("challenger = %q (set %v, %v), want %q", got, ok, err, tc.left)
			}
			hist, err := s.AliasHistory(ctx, AliasChallenger)
			if err != nil {
				t.Fatal(err)
			}
			cleared := slices.ContainsFunc(hist, func(e Event) bool { return strings.Contains(e.Message, "→ none (now the champion)") })
			if cleared != (tc.left == "") {
				t.Errorf("history records the clearing: %v, want %v (%+v)", cleared, tc.left == "", hist)
			}
		})
	}
}
