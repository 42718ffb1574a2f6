package format

import (
	"math"
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Thousands(1234567), "1,234,567"},
		{Thousands(-1234), "-1,234"},
		{Thousands(999), "999"},
		{Thousands(math.NaN()), "—"},
		{Money(25150), "$25,150"},
		{Money(-800), "-$800"},
		{SignedMoney(1200), "+$1,200"},
		{SignedMoney(-800), "-$800"},
		{MS(0.42), "0.42 ms"},
		{MS(12.34), "12.3 ms"},
		{MS(412.4), "412 ms"},
		{MS(math.Inf(1)), "— ms"},
		{Pct(0.1234), "12.3%"},
		{Pct(0.0004), "0.04%"},
		{Pct(0), "0.0%"},
		{Rate(3.21), "3.2 req/s"},
		{Rate(41.7), "42 req/s"},
		{Duration(850 * time.Millisecond), "850ms"},
		{Duration(4200 * time.Millisecond), "4.2s"},
		{Duration(192 * time.Second), "3m12s"},
		{Duration(3*time.Hour + 12*time.Minute), "3h12m"},
		{Duration(5*24*time.Hour + 3*time.Hour), "5d3h"},
		{Window(5 * time.Minute), "5m"},
		{Window(time.Hour), "1h"},
		{Num(math.NaN(), 2), "—"},
		{Clock(time.Time{}), "--:--:--"},
		{Ordinal(1), "1st"}, {Ordinal(2), "2nd"}, {Ordinal(3), "3rd"}, {Ordinal(11), "11th"},
		{Ordinal(12), "12th"}, {Ordinal(22), "22nd"}, {Ordinal(63), "63rd"}, {Ordinal(100), "100th"},
		{Version("7"), "v7"}, {Version("v7"), "v7"}, {Version(""), "v?"}, {Version("m-cd302ff841"), "m-cd302ff841"}, {Version(" v12 "), "v12"}, {PlainVersion("v12"), "12"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "—"},
		{now, "just now"},
		{now.Add(-90 * time.Second), "1m30s ago"},
	} {
		if got := Ago(now, tc.t); got != tc.want {
			t.Errorf("Ago(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
