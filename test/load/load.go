// Package load measures a Block Storage v3 (Cinder) endpoint under load: create→available
// throughput and latency at a fixed concurrency, GET /volumes/{id} throughput, and
// delete→gone throughput. scoria-load runs it against any endpoint; scoria-load-bench starts
// a cluster of Scoria's split services first.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// Config is one run. Zero values take the defaults in brackets.
type Config struct {
	Endpoint string        // Block Storage v3 endpoint, e.g. http://127.0.0.1:8776/v3 (required)
	Project  string        // project (and noauth user) [demo]
	N        int           // volumes to create [1000]
	C        int           // concurrent clients [20]
	Size     int           // GiB per volume [1]
	Gets     int           // GET /volumes/{id} requests in the read phase [20000]; <0 skips it
	Wait     string        // how the end of a create or delete is seen: WaitList or WaitGet [WaitList]
	Poll     time.Duration // interval between status polls [10ms]
	Timeout  time.Duration // longest wait for one volume to become available or gone [2m]
	Attach   bool          // attach, then detach, every available volume after the GET phase [false]
	Progress io.Writer     // progress lines, when not nil
	// Hook, when set, is called with a phase's name just before it starts (end false) and
	// just after it ends (end true), e.g. to measure the servers per phase.
	Hook func(phase string, end bool)
}

func (c *Config) defaults() {
	if c.Project == "" {
		c.Project = "demo"
	}
	if c.N <= 0 {
		c.N = 1000
	}
	if c.C <= 0 {
		c.C = 20
	}
	if c.Size <= 0 {
		c.Size = 1
	}
	if c.Gets == 0 {
		c.Gets = 20000
	}
	if c.Wait == "" {
		c.Wait = WaitList
	}
	if c.Poll <= 0 {
		c.Poll = 10 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
}

// Phase is the outcome of one phase.
type Phase struct {
	Name     string
	Unit     string        // what Rate counts per second: "vol/s", "req/s"
	OK       int           // operations that ended as they should
	Errors   int           // operations that did not
	FirstErr string        // the first error, as an example
	Wall     time.Duration // from the first request to the last operation's end
	Latency  Summary       // of the successful operations
	Requests int64         // HTTP requests sent, status polls included
}

// Rate is successful operations per second of wall time.
func (p Phase) Rate() float64 {
	if p.Wall <= 0 {
		return 0
	}
	return float64(p.OK) / p.Wall.Seconds()
}

// Result is a whole run.
type Result struct {
	Config Config
	Create Phase // POST /volumes, then GET until available: latency is create→available
	Get    Phase // GET /volumes/{id} on the created volumes
	Attach Phase // POST /attachments with a connector, then os-complete (Config.Attach)
	Detach Phase // DELETE /attachments/{id} (Config.Attach)
	Delete Phase // DELETE, then GET until 404: latency is delete→gone
}

// Phases are the phases of the run in order, those that did not run included (Name "").
func (r *Result) Phases() []Phase {
	return []Phase{r.Create, r.Get, r.Attach, r.Detach, r.Delete}
}

// Errors is the number of failed operations of all phases.
func (r *Result) Errors() int {
	n := 0
	for _, p := range r.Phases() {
		n += p.Errors
	}
	return n
}

// Run runs the three phases against cfg.Endpoint. It always tries to delete what it created.
// An error means the run could not be made (endpoint unreachable, ctx ended); failed
// operations are counted in the phases instead.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("load: Config.Endpoint is required")
	}
	cfg.defaults()
	if cfg.Wait != WaitList && cfg.Wait != WaitGet {
		return nil, fmt.Errorf("load: Config.Wait %q is neither %q nor %q", cfg.Wait, WaitList, WaitGet)
	}
	cl := blockstorage.New(cfg.Endpoint, cfg.Project)
	tr := &http.Transport{MaxIdleConns: 4 * cfg.C, MaxIdleConnsPerHost: 4 * cfg.C, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	cl.HTTP = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	r := &runner{cfg: cfg, cl: cl}

	if _, err := cl.Do(ctx, http.MethodGet, "/volumes?limit=1", nil, nil); err != nil {
		return nil, fmt.Errorf("load: endpoint not reachable: %w", err)
	}
	res := &Result{Config: cfg}
	r.progress("create→available: %d volumes of %d GiB, concurrency %d", cfg.N, cfg.Size, cfg.C)
	res.Create = r.create(ctx)
	r.progress("  %d ok, %d errors in %s", res.Create.OK, res.Create.Errors, res.Create.Wall.Round(time.Millisecond))
	if cfg.Gets > 0 && len(r.available) > 0 && ctx.Err() == nil {
		r.progress("GET /volumes/{id}: %d requests, concurrency %d", cfg.Gets, cfg.C)
		res.Get = r.get(ctx)
		r.progress("  %d ok, %d errors in %s", res.Get.OK, res.Get.Errors, res.Get.Wall.Round(time.Millisecond))
	}
	if cfg.Attach && len(r.available) > 0 && ctx.Err() == nil {
		r.progress("attach: %d volumes, concurrency %d", len(r.available), cfg.C)
		res.Attach = r.attach(ctx)
		r.progress("  %d ok, %d errors in %s", res.Attach.OK, res.Attach.Errors, res.Attach.Wall.Round(time.Millisecond))
	}
	// Detaching and deleting are cleanup too: they run even when ctx ended, for a bounded time.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout+time.Minute)
	defer cancel()
	if len(r.attachments) > 0 {
		r.progress("detach: %d attachments, concurrency %d", len(r.attachments), cfg.C)
		res.Detach = r.detach(dctx)
		r.progress("  %d ok, %d errors in %s", res.Detach.OK, res.Detach.Errors, res.Detach.Wall.Round(time.Millisecond))
	}
	r.progress("delete→gone: %d volumes, concurrency %d", len(r.created), cfg.C)
	res.Delete = r.delete(dctx)
	r.progress("  %d ok, %d errors in %s", res.Delete.OK, res.Delete.Errors, res.Delete.Wall.Round(time.Millisecond))
	return res, ctx.Err()
}

type runner struct {
	cfg Config
	cl  *blockstorage.Client

	mu          sync.Mutex
	created     []string     // every volume the API accepted
	available   []string     // those that became available
	attachments []attachment // every attachment the API created
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// recorder collects one phase's outcomes from its workers.
type recorder struct {
	mu        sync.Mutex
	phase     Phase
	latencies []time.Duration
	requests  atomic.Int64
}

func (rec *recorder) ok(d time.Duration) {
	rec.mu.Lock()
	rec.phase.OK++
	rec.latencies = append(rec.latencies, d)
	rec.mu.Unlock()
}

func (rec *recorder) fail(err error) {
	rec.mu.Lock()
	rec.phase.Errors++
	if rec.phase.FirstErr == "" {
		rec.phase.FirstErr = err.Error()
	}
	rec.mu.Unlock()
}

// run calls op(i) for i in [0, n) from c workers and returns the phase.
func (rec *recorder) run(ctx context.Context, cfg Config, n int, op func(ctx context.Context, i int)) Phase {
	if cfg.Hook != nil {
		cfg.Hook(rec.phase.Name, false)
		defer cfg.Hook(rec.phase.Name, true)
	}
	c := cfg.C
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(c, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				op(ctx, i)
			}
		}()
	}
	wg.Wait()
	rec.phase.Wall = time.Since(start)
	rec.phase.Latency = Summarize(rec.latencies)
	rec.phase.Requests = rec.requests.Load()
	return rec.phase
}

// waitFor polls GET /volumes/{id} every Poll until the volume has status want (want ""
// means: until it answers 404). It returns when that was seen (WaitGet).
func (r *runner) waitFor(ctx context.Context, rec *recorder, id, want string) (time.Time, error) {
	deadline := time.Now().Add(r.cfg.Timeout)
	last := "no answer yet"
	t := time.NewTimer(r.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("volume %s: %w (last: %s)", id, ctx.Err(), last)
		case <-t.C:
		}
		rec.requests.Add(1)
		v, err := r.cl.GetVolume(ctx, id)
		now := time.Now()
		switch {
		case want == "" && blockstorage.IsNotFound(err):
			return now, nil
		case err != nil:
			last = err.Error()
		case v.Status == want:
			return now, nil
		case v.Status == "error" || v.Status == "error_deleting":
			return time.Time{}, fmt.Errorf("volume %s went to %s", id, v.Status)
		default:
			last = "status " + v.Status
		}
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("volume %s: not %s after %s (last: %s)", id, orGone(want), r.cfg.Timeout, last)
		}
		t.Reset(r.cfg.Poll)
	}
}

func orGone(want string) string {
	if want == "" {
		return "gone"
	}
	return want
}

// until waits until volume id, whose create or delete was accepted at accepted, left the
// transient status (want is then "available", or "" for gone), by the configured means. It
// returns when the end was seen.
func (r *runner) until(ctx context.Context, rec *recorder, w *watcher, id string, accepted time.Time, want string) (time.Time, error) {
	if r.cfg.Wait == WaitGet {
		return r.waitFor(ctx, rec, id, want)
	}
	deadline := accepted.Add(r.cfg.Timeout)
	since := accepted
	for {
		end, err := w.wait(ctx, id, since, time.Until(deadline))
		if err != nil {
			return time.Time{}, err
		}
		// The list no longer shows it in the transient status: confirm the end with a GET.
		rec.requests.Add(1)
		since = time.Now()
		v, err := r.cl.GetVolume(ctx, id)
		switch {
		case want == "" && blockstorage.IsNotFound(err):
			return end, nil
		case err != nil:
			return time.Time{}, err
		case v.Status == want:
			return end, nil
		case v.Status == w.status: // listed again: keep waiting
			continue
		default:
			return time.Time{}, fmt.Errorf("volume %s went from %s to %s", id, w.status, v.Status)
		}
	}
}

// watch starts the list poller of a phase in WaitList mode; stop ends it.
func (r *runner) watch(ctx context.Context, rec *recorder, status string) (w *watcher, stop func()) {
	if r.cfg.Wait != WaitList {
		return nil, func() {}
	}
	w = newWatcher(r.cl, status, r.cfg.Poll, rec)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(wctx) }()
	return w, func() { cancel(); <-done }
}

func (r *runner) create(ctx context.Context) Phase {
	rec := &recorder{phase: Phase{Name: "create→available", Unit: "vol/s"}}
	w, stop := r.watch(ctx, rec, "creating")
	defer stop()
	return rec.run(ctx, r.cfg, r.cfg.N, func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		v, err := r.cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: fmt.Sprintf("load-%05d", i), Size: r.cfg.Size})
		if err != nil {
			rec.fail(err)
			return
		}
		r.mu.Lock()
		r.created = append(r.created, v.ID)
		r.mu.Unlock()
		end, err := r.until(ctx, rec, w, v.ID, time.Now(), "available")
		if err != nil {
			rec.fail(err)
			return
		}
		rec.ok(end.Sub(start))
		r.mu.Lock()
		r.available = append(r.available, v.ID)
		r.mu.Unlock()
	})
}

func (r *runner) get(ctx context.Context) Phase {
	rec := &recorder{phase: Phase{Name: "GET /volumes/{id}", Unit: "req/s"}}
	ids := r.available
	return rec.run(ctx, r.cfg, r.cfg.Gets, func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		if _, err := r.cl.GetVolume(ctx, ids[i%len(ids)]); err != nil {
			rec.fail(err)
			return
		}
		rec.ok(time.Since(start))
	})
}

func (r *runner) delete(ctx context.Context) Phase {
	rec := &recorder{phase: Phase{Name: "delete→gone", Unit: "vol/s"}}
	w, stop := r.watch(ctx, rec, "deleting")
	defer stop()
	ids := r.created
	return rec.run(ctx, r.cfg, len(ids), func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		if err := r.cl.DeleteVolume(ctx, ids[i]); err != nil {
			rec.fail(err)
			return
		}
		end, err := r.until(ctx, rec, w, ids[i], time.Now(), "")
		if err != nil {
			rec.fail(err)
			return
		}
		rec.ok(end.Sub(start))
	})
}
