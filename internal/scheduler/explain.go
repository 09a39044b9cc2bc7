package scheduler

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

type reasonCode uint8

const (
	reasonNone reasonCode = iota
	reasonTried
	reasonZone
	reasonCapacity
	reasonNoTotal
	reasonReservedOfUnknown
	reasonBadRatio
	reasonSpec
	reasonNoCapability
	reasonBadHint
	reasonNotSameHost
	reasonDifferentHost
	reasonFilterFunction
	reasonFilterFunctionError
	reasonQuery
	reasonQueryError
	reasonBackendDown // Detail: the backend (host@backend)
)

// Metrics counts, per filter, the pools it removed and why (Nomad's AllocMetric).
type Metrics struct {
	Total   int // pools considered
	buckets []bucket
}

type bucket struct {
	filter int // position of the filter in the pipeline; -1 for the steps that always run
	code   reasonCode
	detail string
	n      int
	gib    float64 // the most capacity any of these pools had
	// backends are the backends of the pools counted, for a reason that names them
	// (reasonBackendDown): one phrase lists them all.
	backends []string
}

func (m *Metrics) reject(filter int, why Reason) {
	byBackend := why.Code == reasonBackendDown
	for i := range m.buckets {
		b := &m.buckets[i]
		if b.filter == filter && b.code == why.Code && (byBackend || b.detail == why.Detail) {
			b.n++
			b.gib = max(b.gib, why.GiB)
			if byBackend && !slices.Contains(b.backends, why.Detail) {
				b.backends = append(b.backends, why.Detail)
			}
			return
		}
	}
	b := bucket{filter: filter, code: why.Code, detail: why.Detail, n: 1, gib: why.GiB}
	if byBackend {
		b.detail, b.backends = "", []string{why.Detail}
	}
	m.buckets = append(m.buckets, b)
}

// Rejected returns how many pools the filter at position filter removed (-1: tried pools).
func (m *Metrics) Rejected(filter int) int {
	n := 0
	for _, b := range m.buckets {
		if b.filter == filter {
			n += b.n
		}
	}
	return n
}

// phrases lists, in pipeline order, how many pools each reason removed, e.g. "2 in another
// availability zone (az1)", "1 lacks capacity (needs 100 GiB, 37.5 GiB virtual free)".
func (m *Metrics) phrases(size float64) []string {
	bs := append([]bucket(nil), m.buckets...)
	sort.SliceStable(bs, func(i, j int) bool {
		if bs[i].filter != bs[j].filter {
			return bs[i].filter < bs[j].filter
		}
		if bs[i].n != bs[j].n {
			return bs[i].n > bs[j].n
		}
		return bs[i].detail < bs[j].detail
	})
	out := make([]string, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.phrase(size))
	}
	return out
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (b bucket) phrase(size float64) string {
	n := b.n
	switch b.code {
	case reasonTried:
		return fmt.Sprintf("%d already failed this volume", n)
	case reasonZone:
		return fmt.Sprintf("%d in another availability zone (%s)", n, b.detail)
	case reasonCapacity:
		most := ""
		if n > 1 {
			most = "at most "
		}
		return fmt.Sprintf("%d %s capacity (needs %s GiB, %s%s GiB %s)", n, verb(n, "lacks", "lack"), gib(size), most, gib(max(b.gib, 0)), b.detail)
	case reasonNoTotal:
		return fmt.Sprintf("%d %s no total capacity", n, verb(n, "reports", "report"))
	case reasonReservedOfUnknown:
		return fmt.Sprintf("%d %s %s total capacity with a reserved_percentage", n, verb(n, "reports", "report"), b.detail)
	case reasonBadRatio:
		return fmt.Sprintf("%d %s an invalid max_over_subscription_ratio (%q, at least 1 or auto)", n, verb(n, "has", "have"), b.detail)
	case reasonSpec:
		return fmt.Sprintf("%d %s not match %s", n, verb(n, "does", "do"), b.detail)
	case reasonNoCapability:
		return fmt.Sprintf("%d %s no capability %s", n, verb(n, "has", "have"), b.detail)
	case reasonBadHint:
		return fmt.Sprintf("%d refused: %s", n, b.detail)
	case reasonNotSameHost:
		return fmt.Sprintf("%d %s no volume of the same_host hint", n, verb(n, "holds", "hold"))
	case reasonDifferentHost:
		return fmt.Sprintf("%d %s a volume of the different_host hint", n, verb(n, "holds", "hold"))
	case reasonFilterFunction:
		return fmt.Sprintf("%d rejected by filter_function %q", n, b.detail)
	case reasonFilterFunctionError:
		return fmt.Sprintf("%d with a filter_function that fails (%s)", n, b.detail)
	case reasonQuery:
		return fmt.Sprintf("%d %s not match the query hint", n, verb(n, "does", "do"))
	case reasonQueryError:
		return fmt.Sprintf("%d refused: %s", n, b.detail)
	case reasonBackendDown:
		backends := append([]string(nil), b.backends...)
		sort.Strings(backends)
		k := len(backends)
		return fmt.Sprintf("%d on %s that %s down (%s)", n, verb(k, "a backend", "backends"),
			verb(k, "reports itself", "report themselves"), strings.Join(backends, ", "))
	}
	return fmt.Sprintf("%d rejected", n)
}

// Unavailable lists the volume services whose pools were not considered.
type Unavailable struct {
	Down, Disabled, Unreported []string // host@backend
}

func (u Unavailable) phrases() []string {
	var out []string
	add := func(hosts []string, what string) {
		if len(hosts) == 0 {
			return
		}
		hosts = append([]string(nil), hosts...)
		sort.Strings(hosts)
		out = append(out, fmt.Sprintf("%d %s %s (%s)", len(hosts), verb(len(hosts), "service", "services"), what, strings.Join(hosts, ", ")))
	}
	add(u.Down, "down")
	add(u.Disabled, "disabled")
	add(u.Unreported, "without a capability report")
	return out
}

// Explain is the one sentence that says why no pool fits, like Kubernetes' FitError:
// "No valid backend: 0/4 pools fit — 2 in another availability zone (az1), 1 lacks capacity
// (needs 100 GiB, 37.5 GiB virtual free), 1 does not match volume_backend_name=lvmbackend;
// 1 service down (block3@lvm)". A service is down when its heartbeat is stale; a pool is "on
// a backend that reports itself down" when the service is up but its storage is not.
func Explain(m *Metrics, size float64, u Unavailable) string {
	var b strings.Builder
	fmt.Fprintf(&b, "No valid backend: 0/%d pools fit", m.Total)
	if p := m.phrases(size); len(p) > 0 {
		b.WriteString(" — ")
		b.WriteString(strings.Join(p, ", "))
	}
	if p := u.phrases(); len(p) > 0 {
		b.WriteString("; ")
		b.WriteString(strings.Join(p, ", "))
	}
	return b.String()
}
