package load

import (
	"math"
	"slices"
	"time"
)

// Summary describes a set of latencies.
type Summary struct {
	N                             int
	Min, Mean, P50, P90, P99, Max time.Duration
	Total                         time.Duration // sum of all
}

// Summarize sorts a copy of d and computes its summary. An empty d gives a zero Summary.
func Summarize(d []time.Duration) Summary {
	s := Summary{N: len(d)}
	if len(d) == 0 {
		return s
	}
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	for _, x := range sorted {
		s.Total += x
	}
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Mean = s.Total / time.Duration(len(d))
	s.P50 = Percentile(sorted, 50)
	s.P90 = Percentile(sorted, 90)
	s.P99 = Percentile(sorted, 99)
	return s
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted, an ascending
// slice: the smallest value that at least p percent of the values are at or below. It is 0
// for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}
