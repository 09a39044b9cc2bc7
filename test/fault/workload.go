package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// Microversion is the one every request of the workload sends: attachments with a mode
// (3.54) and volume-transfers with their snapshots (3.55).
const Microversion = "3.55"

// Config bounds and shapes a run.
type Config struct {
	Seed              uint64
	Projects          int           // tenants working at once [3]
	WorkersPerProject int           // concurrent clients of each project [2]
	Ops               int           // operations in all, at most [300]
	Duration          time.Duration // the workload stops after this [30s]
	KillMin, KillMax  time.Duration // pause between a restart and the next kill [1.5s, 5s]
	DownMin, DownMax  time.Duration // how long a killed process stays down [0, 2s]
	Settle            time.Duration // how long the end waits for everything to settle [120s]
	PoolsWait         time.Duration // how long get_pools may take to report the settled figures [30s]
	Logf              func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.Projects == 0 {
		c.Projects = 3
	}
	if c.WorkersPerProject == 0 {
		c.WorkersPerProject = 2
	}
	if c.Ops == 0 {
		c.Ops = 300
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.KillMax == 0 {
		c.KillMin, c.KillMax = 1500*time.Millisecond, 5*time.Second
	}
	if c.DownMax == 0 {
		c.DownMax = 2 * time.Second
	}
	if c.Settle == 0 {
		c.Settle = 120 * time.Second
	}
	if c.PoolsWait == 0 {
		c.PoolsWait = 30 * time.Second
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// ProjectName is the i-th project of the workload.
func ProjectName(i int) string { return fmt.Sprintf("fault-p%d", i) }

// Outcomes of one request, as the client saw it.
const (
	Accepted    = "accepted"    // 2xx
	Refused     = "refused"     // 400, 404, 409: the state changed under the client, or not allowed now
	OverQuota   = "over-quota"  // 413
	Unavailable = "unavailable" // 503: a service it needs is down (the request changed nothing)
	NoAnswer    = "no-answer"   // the connection failed: the API was down or died mid-request
	ServerError = "server-error"
	Skipped     = "skipped" // the object was not in a state for the operation
)

// accepted is a request the API accepted, to be checked at the end.
type accepted struct {
	kind    string // create, delete, extend, snapshot, snapshot-delete, attach, detach, transfer
	id      string // the volume, snapshot or attachment
	size    int    // extend: the new size
	project string // transfer: the receiver
}

// Report is what a run did and found.
type Report struct {
	Seed       uint64
	Ops        map[string]map[string]int // kind → outcome → count
	Kills      map[string]int            // process → kill -9 count
	KillLog    []string                  // "12.3s kill -9 api, down 0.8s"
	Violations []string
	Settled    time.Duration // how long the end took to settle and check
	Final      string        // the live rows by status at the end
	accepted   []accepted
	samples    map[string]string // kind outcome → the first answer or error seen
	mu         sync.Mutex
}

func (r *Report) op(kind, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Ops[kind] == nil {
		r.Ops[kind] = map[string]int{}
	}
	r.Ops[kind][outcome]++
}

// sample keeps the first answer of kind with outcome, to say why requests were refused.
func (r *Report) sample(kind, outcome, what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.samples == nil {
		r.samples = map[string]string{}
	}
	key := kind + " " + outcome
	if _, ok := r.samples[key]; !ok {
		r.samples[key] = what
	}
}

func (r *Report) accept(a accepted) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted = append(r.accepted, a)
}

func (r *Report) violation(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
}

// TotalOps is the number of operations sent.
func (r *Report) TotalOps() int {
	n := 0
	for _, outcomes := range r.Ops {
		for o, c := range outcomes {
			if o != Skipped {
				n += c
			}
		}
	}
	return n
}

// String prints the counts: operations by kind and outcome, kills, violations.
func (r *Report) String() string {
	var b strings.Builder
	kinds := make([]string, 0, len(r.Ops))
	for k := range r.Ops {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "seed %d: %d operations sent\n", r.Seed, r.TotalOps())
	for _, k := range kinds {
		outs := make([]string, 0, len(r.Ops[k]))
		for o, n := range r.Ops[k] {
			outs = append(outs, fmt.Sprintf("%s=%d", o, n))
		}
		sort.Strings(outs)
		fmt.Fprintf(&b, "  %-16s %s\n", k, strings.Join(outs, " "))
	}
	if len(r.samples) > 0 {
		keys := make([]string, 0, len(r.samples))
		for k := range r.samples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("first answer of each refusal:\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-28s %.200s\n", k, r.samples[k])
		}
	}
	total := 0
	procs := make([]string, 0, len(r.Kills))
	for p, n := range r.Kills {
		total += n
		procs = append(procs, fmt.Sprintf("%s=%d", p, n))
	}
	sort.Strings(procs)
	fmt.Fprintf(&b, "kills: %d (%s)\n", total, strings.Join(procs, " "))
	fmt.Fprintf(&b, "checked in %s; at the end: %s\n", r.Settled.Round(time.Millisecond), r.Final)
	fmt.Fprintf(&b, "violations: %d\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  - %s\n", v)
	}
	return b.String()
}

// vol is what the workload knows of a volume it made.
type vol struct {
	id, project string
	size        int
	busy, gone  bool
	attachment  string // the attachment the workload made and has not deleted
}

// snap is what the workload knows of a snapshot it made.
type snap struct {
	id, volID, project string
	size               int
	busy, gone         bool
}

// registry holds the workload's objects; a worker takes one (busy) for an operation, so the
// workload's own clients do not race each other on an object (the services race the killer).
type registry struct {
	mu       sync.Mutex
	vols     map[string]*vol
	volOrder []string
	snaps    map[string]*snap
	snOrder  []string
}

func newRegistry() *registry {
	return &registry{vols: map[string]*vol{}, snaps: map[string]*snap{}}
}

func (g *registry) addVol(v *vol) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.vols[v.id] = v
	g.volOrder = append(g.volOrder, v.id)
}

func (g *registry) addSnap(s *snap) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.snaps[s.id] = s
	g.snOrder = append(g.snOrder, s.id)
}

// takeVol marks a random idle volume of project busy and returns a copy, or nil.
func (g *registry) takeVol(rng *rand.Rand, project string, want func(*vol) bool) *vol {
	g.mu.Lock()
	defer g.mu.Unlock()
	var cands []*vol
	for _, id := range g.volOrder {
		v := g.vols[id]
		if v.project == project && !v.busy && !v.gone && (want == nil || want(v)) {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	v := cands[rng.IntN(len(cands))]
	v.busy = true
	c := *v
	return &c
}

// putVol stores the worker's copy back and frees the volume.
func (g *registry) putVol(v *vol) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.vols[v.id]; ok {
		*cur = *v
		cur.busy = false
	}
}

func (g *registry) takeSnap(rng *rand.Rand, project string) *snap {
	g.mu.Lock()
	defer g.mu.Unlock()
	var cands []*snap
	for _, id := range g.snOrder {
		s := g.snaps[id]
		if s.project == project && !s.busy && !s.gone {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	s := cands[rng.IntN(len(cands))]
	s.busy = true
	c := *s
	return &c
}

func (g *registry) putSnap(s *snap) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.snaps[s.id]; ok {
		*cur = *s
		cur.busy = false
	}
}

// moveSnaps gives the live snapshots of volume id to project (a transfer takes them along).
func (g *registry) moveSnaps(volID, project string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.snaps {
		if s.volID == volID && !s.gone {
			s.project = project
		}
	}
}

// dropSnaps forgets the snapshots of volume id (a cascade delete takes them along).
func (g *registry) dropSnaps(volID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.snaps {
		if s.volID == volID {
			s.gone = true
		}
	}
}

func (g *registry) liveSnaps(volID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, s := range g.snaps {
		if s.volID == volID && !s.gone {
			n++
		}
	}
	return n
}

// caller sends the requests of one project: as a member (not an admin) of it, or as the
// compute service acting for it (noauth: an admin), which attachments need.
type caller struct {
	cl    *blockstorage.Client
	roles http.Header
}

func newCaller(t Target, project string) caller {
	cl := blockstorage.New(t.Endpoint, project)
	cl.HTTP, cl.Microversion = t.HTTP, Microversion
	return caller{cl: cl, roles: http.Header{"X-Roles": {"member,reader"}}}
}

// computeCaller is the compute service acting for project: only it may delete an attachment
// of an instance (Cinder's OSSA-2023-003 rule).
func computeCaller(t Target, project string) caller {
	c := newCaller(t, project)
	c.roles = nil
	return c
}

// result is one answer, or the failure to get one.
type result struct {
	status int
	body   []byte
	err    error
}

func (c caller) do(ctx context.Context, method, path string, in any) result {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return result{err: err}
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := c.cl.Do(rctx, method, path, body, c.roles)
	if err != nil {
		return result{err: err}
	}
	return result{status: resp.Status, body: resp.Body}
}

// outcome classifies an answer; a 5xx other than 503 is a violation.
func (r result) outcome() string {
	switch {
	case r.err != nil:
		return NoAnswer
	case r.status >= 200 && r.status < 300:
		return Accepted
	case r.status == http.StatusRequestEntityTooLarge:
		return OverQuota
	case r.status == http.StatusServiceUnavailable:
		return Unavailable
	case r.status >= 500:
		return ServerError
	default:
		return Refused
	}
}

func (r result) decode(key string, out any) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		return fmt.Errorf("decode %.200s: %w", r.body, err)
	}
	raw, ok := m[key]
	if !ok {
		return fmt.Errorf("no %q in %.200s", key, r.body)
	}
	return json.Unmarshal(raw, out)
}

// Transitional statuses: a volume, snapshot or attachment must not stay in one.
var (
	VolumeTransitional     = []string{"creating", "deleting", "extending", "attaching", "detaching", "reserved", "maintenance", "downloading", "uploading", "retyping", "backing-up", "restoring-backup", "reverting", "awaiting-transfer"}
	SnapshotTransitional   = []string{"creating", "deleting", "restoring", "updating", "backing-up", "unmanaging"}
	AttachmentTransitional = []string{"reserved", "attaching", "detaching"}
)
