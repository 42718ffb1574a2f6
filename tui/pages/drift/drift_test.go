package drift

import (
	"slices"
	"testing"

	"carvision/engine"
)

func TestOrderPinsThenSeverity(t *testing.T) {
	in := []engine.FeatureDrift{
		{Feature: "odometer", Score: 0.09, Threshold: 0.1},
		{Feature: "model_year", Score: 0.27, Threshold: 0.2, Drifted: true},
		{Feature: "predicted_price", Score: 0.01, Threshold: 0.2},
		{Feature: "fuel", Score: 0.01, Threshold: 0.1},
		{Feature: "vehicle_age", Score: 0.02, Threshold: 0.2},
		{Feature: "type", Score: 0.5, Threshold: 0.1, Drifted: true},
	}
	names := func(fs []engine.FeatureDrift) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.Feature
		}
		return out
	}
	if got, want := names(Order(in, false)), []string{"vehicle_age", "predicted_price", "type", "model_year", "odometer", "fuel"}; !slices.Equal(got, want) {
		t.Fatalf("by severity %v, want %v", got, want)
	}
	if got, want := names(Order(in, true)), []string{"vehicle_age", "predicted_price", "fuel", "model_year", "odometer", "type"}; !slices.Equal(got, want) {
		t.Fatalf("by name %v, want %v", got, want)
	}
}

// A KS score is a p-value: the smaller it is, the more severe the feature.
func TestOrderReadsKSPValuesUpsideDown(t *testing.T) {
	in := []engine.FeatureDrift{
		{Feature: "a_psi_near", Test: "psi", Score: 0.18, Threshold: 0.2},   // ratio 0.9
		{Feature: "b_ks_calm", Test: "ks", Score: 0.6, Threshold: 0.005},    // ratio 0.008
		{Feature: "c_ks_close", Test: "ks", Score: 0.006, Threshold: 0.005}, // ratio 0.83
		{Feature: "d_ks_zero", Test: "ks", Score: 0, Threshold: 0.005},      // p underflowed: most severe
		{Feature: "e_js_far", Test: "jensen_shannon", Score: 0.01, Threshold: 0.1},
	}
	var got []string
	for _, f := range Order(in, false) {
		got = append(got, f.Feature)
	}
	if want := []string{"d_ks_zero", "a_psi_near", "c_ks_close", "e_js_far", "b_ks_calm"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for _, tc := range []struct {
		f            engine.FeatureDrift
		score, limit string
	}{
		{engine.FeatureDrift{Test: "ks", Score: 0.000123, Threshold: 0.05 / 9}, "0.00012", "<0.0056"},
		{engine.FeatureDrift{Test: "ks", Score: 0.25, Threshold: 0.01}, "0.25", "<0.01"},
		{engine.FeatureDrift{Test: "psi", Score: 0.2314, Threshold: 0.2}, "0.231", "0.20"},
	} {
		if s, l := ScoreText(tc.f), LimitText(tc.f); s != tc.score || l != tc.limit {
			t.Errorf("%s %g/%g: %q %q, want %q %q", tc.f.Test, tc.f.Score, tc.f.Threshold, s, l, tc.score, tc.limit)
		}
	}
}
