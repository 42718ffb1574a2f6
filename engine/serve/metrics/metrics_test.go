package metrics

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWriterFormats(t *testing.T) {
	tests := []struct {
		name    string
		collect func(w *Writer)
		want    string
		wantErr string
	}{
		{
			name:    "gauge with labels and escaping",
			collect: func(w *Writer) { w.Gauge("g", "a \\ help\nline", 1.5, "k", "a\"b\\c\nd") },
			want:    "# HELP g a \\\\ help\\nline\n# TYPE g gauge\ng{k=\"a\\\"b\\\\c\\nd\"} 1.5\n",
		},
		{
			name:    "counter without help",
			collect: func(w *Writer) { w.Counter("c_total", "", 3) },
			want:    "# TYPE c_total counter\nc_total 3\n",
		},
		{
			name: "special values",
			collect: func(w *Writer) {
				w.Family("s", "", GaugeType)
				w.Sample("", math.NaN())
				w.Sample("", math.Inf(1))
				w.Sample("", math.Inf(-1))
			},
			want: "# TYPE s gauge\ns NaN\ns +Inf\ns -Inf\n",
		},
		{
			name:    "invalid family name is skipped with its samples",
			collect: func(w *Writer) { w.Gauge("bad-name", "", 1); w.Gauge("ok", "", 2) },
			want:    "# TYPE ok gauge\nok 2\n",
			wantErr: "invalid name",
		},
		{
			name:    "duplicate family is skipped",
			collect: func(w *Writer) { w.Gauge("d", "", 1); w.Gauge("d", "", 2) },
			want:    "# TYPE d gauge\nd 1\n",
			wantErr: "written twice",
		},
		{
			name:    "reserved label name",
			collect: func(w *Writer) { w.Gauge("r", "", 1, "__name__", "x") },
			want:    "# TYPE r gauge\n",
			wantErr: "invalid label name",
		},
		{
			name:    "odd labels",
			collect: func(w *Writer) { w.Gauge("o", "", 1, "k") },
			want:    "# TYPE o gauge\n",
			wantErr: "odd number",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry()
			r.Register(CollectorFunc(tc.collect))
			got, err := r.Gather()
			if string(got) != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			if tc.wantErr == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestHistogramCumulative(t *testing.T) {
	h := NewHistogram([]float64{0.5, 0.1, 0.1, math.Inf(1)})
	for _, d := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second} {
		h.ObserveDuration(d)
	}
	r := NewRegistry()
	r.Register(CollectorFunc(func(w *Writer) {
		w.Family("lat_seconds", "", HistogramType)
		h.Write(w, "endpoint", "/p")
	}))
	want := strings.Join([]string{
		"# TYPE lat_seconds histogram",
		`lat_seconds_bucket{endpoint="/p",le="0.1"} 2`,
		`lat_seconds_bucket{endpoint="/p",le="0.5"} 3`,
		`lat_seconds_bucket{endpoint="/p",le="+Inf"} 4`,
		`lat_seconds_sum{endpoint="/p"} 2.45`,
		`lat_seconds_count{endpoint="/p"} 4`,
		"",
	}, "\n")
	if got := Text(r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestHistogramConcurrent(t *testing.T) {
	h := NewHistogram(LatencyBuckets)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Observe(0.001)
			}
		}()
	}
	wg.Wait()
	if h.Count() != 8000 {
		t.Fatalf("count %d, want 8000", h.Count())
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := NewHistogram(LatencyBuckets)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.ObserveDuration(time.Duration(i%1000) * time.Microsecond)
	}
}
