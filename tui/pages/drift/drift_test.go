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
