package load

import (
	"strings"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value, p50", ms(7), 50, 7 * time.Millisecond},
		{"one value, p99", ms(7), 99, 7 * time.Millisecond},
		{"two values, p50 is the lower", ms(1, 9), 50, 1 * time.Millisecond},
		{"two values, p51 is the upper", ms(1, 9), 51, 9 * time.Millisecond},
		{"1..100, p50", hundred, 50, 50 * time.Millisecond},
		{"1..100, p99", hundred, 99, 99 * time.Millisecond},
		{"1..100, p100", hundred, 100, 100 * time.Millisecond},
		{"1..100, p0 is the minimum", hundred, 0, 1 * time.Millisecond},
		{"p above 100 is the maximum", ms(1, 2, 3), 150, 3 * time.Millisecond},
		{"ten values, p99 is the maximum", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"ten values, p90", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	in := ms(30, 10, 20, 40, 1000)
	s := Summarize(in)
	want := Summary{N: 5, Min: 10 * time.Millisecond, Mean: 220 * time.Millisecond, P50: 30 * time.Millisecond,
		P90: 1000 * time.Millisecond, P99: 1000 * time.Millisecond, Max: 1000 * time.Millisecond, Total: 1100 * time.Millisecond}
	if s != want {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	if in[0] != 30*time.Millisecond {
		t.Error("Summarize sorted its input in place")
	}
	if z := Summarize(nil); z != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", z)
	}
}

func TestPhaseRate(t *testing.T) {
	for _, tc := range []struct {
		p    Phase
		want float64
	}{
		{Phase{OK: 1000, Wall: 4 * time.Second}, 250},
		{Phase{OK: 1000, Errors: 5, Wall: 2 * time.Second}, 500},
		{Phase{OK: 3}, 0},
	} {
		if got := tc.p.Rate(); got != tc.want {
			t.Errorf("%+v.Rate() = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "-",
		312 * time.Microsecond:  "312µs",
		4210 * time.Microsecond: "4.21ms",
		42 * time.Millisecond:   "42.0ms",
		420 * time.Millisecond:  "420ms",
		1530 * time.Millisecond: "1.53s",
		90 * time.Second:        "1m30s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	r := &Result{
		Config: Config{Endpoint: "http://127.0.0.1:8776/v3", Project: "demo", N: 2, C: 1, Size: 1, Poll: 10 * time.Millisecond},
		Create: Phase{Name: "create→available", Unit: "vol/s", OK: 2, Wall: time.Second, Latency: Summarize(ms(40, 60)), Requests: 12},
		Delete: Phase{Name: "delete→gone", Unit: "vol/s", OK: 1, Errors: 1, FirstErr: "boom", Wall: time.Second},
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"create→available", "2.0 vol/s", "40.0ms", "60.0ms", "first error of delete→gone: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "GET /volumes") {
		t.Errorf("table shows the GET phase that did not run:\n%s", out)
	}
}
