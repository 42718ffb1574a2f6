// Package format turns engine numbers into the short, aligned text the
// console shows: money, milliseconds, shares, ages and durations.
package format

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Thousands formats an integer with thousands separators: 12,340.
func Thousands(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	n := int64(math.Round(v))
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Money formats a price in dollars: $12,340.
func Money(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	if v < 0 {
		return "-$" + Thousands(-v)
	}
	return "$" + Thousands(v)
}

// SignedMoney formats a contribution: +$1,200 or -$800.
func SignedMoney(v float64) string {
	if v >= 0 {
		return "+" + Money(v)
	}
	return Money(v)
}

// MS formats milliseconds with sensible precision: 0.42 ms, 12.3 ms, 412 ms.
func MS(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "— ms"
	case v < 1:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// Pct formats a share (0..1) as a percentage.
func Pct(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case v != 0 && math.Abs(v) < 0.001:
		return fmt.Sprintf("%.2f%%", v*100)
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// Rate formats requests per second.
func Rate(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f req/s", v)
	}
	return fmt.Sprintf("%.0f req/s", v)
}

// Duration formats a duration compactly: 850ms, 4.2s, 3m12s, 3h12m, 5d3h.
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Ago formats how long before now t was: "3m ago"; zero t is "—".
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return Duration(d.Truncate(time.Second)) + " ago"
}

// Clock formats a time of day in UTC (stable across machines and tests).
func Clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.UTC().Format("15:04:05")
}

// Window names a snapshot window: 1m, 5m, 1h.
func Window(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return d.String()
}

// Num formats a float compactly, "—" when missing.
func Num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// Seconds converts float seconds (as /health reports uptime) to a Duration.
func Seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Version shows a model version with one "v": "7" and "v7" both give "v7"
// (the registry numbers versions, the served model is labelled "v7"). A
// label that is not a number, such as the "m-1a2b3c" of a model file served
// with --model, is shown as it is.
func Version(v string) string {
	p := PlainVersion(v)
	switch {
	case p == "":
		return "v?"
	case strings.Trim(p, "0123456789") != "":
		return strings.TrimSpace(v)
	}
	return "v" + p
}

// PlainVersion is the registry's form of a version: "v7" → "7".
func PlainVersion(v string) string { return strings.TrimPrefix(strings.TrimSpace(v), "v") }

// Metric looks a model metric up by name, preferring the test split's
// value ("test.rmse") to an unqualified one ("rmse").
func Metric(m map[string]float64, name string) (float64, bool) {
	if v, ok := m["test."+name]; ok {
		return v, true
	}
	v, ok := m[name]
	return v, ok
}

// Ordinal writes 1st, 2nd, 3rd, 4th, 11th, 21st…
func Ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// OnOff names a toggle's state.
func OnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
