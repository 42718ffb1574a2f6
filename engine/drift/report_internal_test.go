package drift

import "testing"

func TestBinLabel(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		last   bool
		want   string
	}{
		{-EdgeWiden, 2, false, "[0, 2)"}, // a feature starting at 0, widened
		{2, 4 + EdgeWiden, true, "[2, 4]"},
		{-3.5, -1, false, "[-3.5, -1)"},
		{0.0004, 0.25, false, "[0.0004, 0.25)"},   // small but real edges stay
		{12345.6, 99999, false, "[12346, 99999)"}, // odometer-sized edges read as numbers
		{1.999999999, 1e20, true, "[2, 1e+20]"},
	} {
		if got := binLabel(tc.lo, tc.hi, tc.last); got != tc.want {
			t.Errorf("binLabel(%g, %g, %v) = %q, want %q", tc.lo, tc.hi, tc.last, got, tc.want)
		}
	}
}
