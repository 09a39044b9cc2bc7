package fault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Run drives the workload against t with the killer running beside it, brings every process
// back, waits for everything to settle and checks the invariants. The report holds the counts
// and every violation; an empty Violations is a pass.
func Run(ctx context.Context, t Target, cfg Config) *Report {
	cfg.defaults()
	rep := &Report{Seed: cfg.Seed, Ops: map[string]map[string]int{}, Kills: map[string]int{}}
	reg := newRegistry()
	projects := make([]string, cfg.Projects)
	for i := range projects {
		projects[i] = ProjectName(i)
	}
	began := time.Now()
	wctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var budget atomic.Int64
	budget.Store(int64(cfg.Ops))

	// Workers tell the killer when the API accepted a create, so that half of the kills
	// land while that create is still on its way (outbox, bus, scheduler, volume service).
	inflight := make(chan struct{}, 1)
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		killer(wctx, t, cfg, rep, began, inflight)
	}()
	var wg sync.WaitGroup
	for p := range projects {
		for n := range cfg.WorkersPerProject {
			w := &worker{
				t: t, reg: reg, rep: rep, budget: &budget, inflight: inflight,
				project:  projects[p],
				receiver: projects[(p+1)%len(projects)],
				rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(p*100+n+1))),
				pace:     cfg.Duration * time.Duration(cfg.Projects*cfg.WorkersPerProject) / time.Duration(cfg.Ops),
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(wctx)
			}()
		}
	}
	wg.Wait()
	stop()
	<-killerDone
	cfg.Logf("workload done after %s: %d operations; bringing every process back", time.Since(began).Round(time.Millisecond), rep.TotalOps())

	if err := restore(ctx, t); err != nil {
		rep.violation("the services did not come back after the workload: %v", err)
		return rep
	}
	cleanupTransfers(ctx, t, projects, rep)
	settleStart := time.Now()
	check(ctx, t, cfg, rep, projects)
	rep.Settled = time.Since(settleStart)
	return rep
}

// killer kill -9s a random process after a random pause, keeps it down a random while and
// starts it again, until ctx ends. Every other kill waits, after its pause, for a create the
// API has just accepted and strikes 0–50 ms after it, while that create is in flight.
func killer(ctx context.Context, t Target, cfg Config, rep *Report, began time.Time, inflight <-chan struct{}) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xfa17))
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	for {
		pause := between(cfg.KillMin, cfg.KillMax)
		name := t.Processes[rng.IntN(len(t.Processes))]
		down := between(cfg.DownMin, cfg.DownMax)
		targeted := rng.IntN(2) == 0
		delay := between(0, 50*time.Millisecond)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		if targeted {
			select {
			case <-inflight: // drop a stale signal, wait for a fresh one
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-inflight:
				time.Sleep(delay)
			case <-time.After(2 * time.Second):
			}
		}
		at := time.Since(began)
		if err := t.Kill(name); err != nil {
			rep.violation("kill -9 %s: %v", name, err)
			return
		}
		rep.mu.Lock()
		rep.Kills[name]++
		rep.KillLog = append(rep.KillLog, fmt.Sprintf("%6.1fs kill -9 %s, down %s", at.Seconds(), name, down.Round(time.Millisecond)))
		rep.mu.Unlock()
		cfg.Logf("%6.1fs kill -9 %s, down %s", at.Seconds(), name, down.Round(time.Millisecond))
		time.Sleep(down)
		if err := t.Restart(context.Background(), name); err != nil {
			rep.violation("restart %s after kill -9: %v", name, err)
			return
		}
	}
}

// restore starts every process that is not running and waits until the services are up.
func restore(ctx context.Context, t Target) error {
	for _, name := range t.Processes {
		if !t.Running(name) {
			if err := t.Restart(ctx, name); err != nil {
				return fmt.Errorf("restart %s: %w", name, err)
			}
		}
	}
	if err := t.CheckProcesses(); err != nil {
		return err
	}
	return t.WaitUp(ctx, 90*time.Second)
}

// cleanupTransfers deletes the transfers still offered (an accept or delete whose answer a
// kill took), as their owners would.
func cleanupTransfers(ctx context.Context, t Target, projects []string, rep *Report) {
	for _, p := range projects {
		c := newCaller(t, p)
		r := c.do(ctx, http.MethodGet, "/volume-transfers", nil)
		var list []struct {
			ID string `json:"id"`
		}
		if r.outcome() != Accepted || r.decode("transfers", &list) != nil {
			rep.violation("GET /volume-transfers as %s: %d %v %.300s", p, r.status, r.err, r.body)
			continue
		}
		for _, tr := range list {
			d := c.do(ctx, http.MethodDelete, "/volume-transfers/"+url.PathEscape(tr.ID), nil)
			rep.op("transfer-cleanup", d.outcome())
			if d.outcome() == ServerError {
				rep.violation("DELETE /volume-transfers/%s: %d %.300s", tr.ID, d.status, d.body)
			}
		}
	}
}

// worker is one client of one project.
type worker struct {
	t        Target
	reg      *registry
	rep      *Report
	budget   *atomic.Int64
	project  string
	receiver string // the project its transfers go to
	rng      *rand.Rand
	pace     time.Duration // mean time between the starts of two operations, so the budget lasts the duration
	inflight chan<- struct{}
}

// created tells the killer that a create was just accepted.
func (w *worker) created() {
	select {
	case w.inflight <- struct{}{}:
	default:
	}
}

// ops are the operations and their weights.
var ops = []struct {
	name   string
	weight int
	run    func(*worker, context.Context)
}{
	{"create", 22, (*worker).create},
	{"create-delete", 5, (*worker).createDelete},
	{"burst", 3, (*worker).burst},
	{"delete", 10, (*worker).delete},
	{"extend", 8, (*worker).extend},
	{"snapshot", 10, (*worker).snapshot},
	{"snapshot-delete", 6, (*worker).snapshotDelete},
	{"clone", 6, (*worker).clone},
	{"from-snapshot", 6, (*worker).fromSnapshot},
	{"attach", 8, (*worker).attach},
	{"detach", 6, (*worker).detach},
	{"transfer", 5, (*worker).transfer},
}

func (w *worker) run(ctx context.Context) {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	next := time.Now()
	for ctx.Err() == nil && w.budget.Add(-1) >= 0 {
		next = next.Add(w.pace/2 + time.Duration(w.rng.Int64N(int64(w.pace)+1)))
		pick := w.rng.IntN(total)
		for _, o := range ops {
			if pick < o.weight {
				o.run(w, ctx)
				break
			}
			pick -= o.weight
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
}

// send sends one request of the operation kind as the worker's project, records its outcome
// and, for a 5xx other than 503, a violation.
func (w *worker) send(ctx context.Context, kind, method, path string, in any) result {
	return w.sendAs(ctx, w.project, kind, method, path, in)
}

func (w *worker) sendAs(ctx context.Context, project, kind, method, path string, in any) result {
	return w.sendBy(ctx, newCaller(w.t, project), kind, method, path, in)
}

// sendAsCompute sends as the compute service acting for the worker's project.
func (w *worker) sendAsCompute(ctx context.Context, kind, method, path string, in any) result {
	return w.sendBy(ctx, computeCaller(w.t, w.project), kind, method, path, in)
}

func (w *worker) sendBy(ctx context.Context, c caller, kind, method, path string, in any) result {
	r := c.do(ctx, method, path, in)
	o := r.outcome()
	w.rep.op(kind, o)
	switch {
	case r.err != nil:
		w.rep.sample(kind, o, r.err.Error())
	case o != Accepted:
		w.rep.sample(kind, o, fmt.Sprintf("%d %s", r.status, r.body))
	}
	if o == ServerError {
		w.rep.violation("%s: %s %s answered %d: %.300s", kind, method, path, r.status, r.body)
	}
	return r
}

// volumeState is what a GET of the volume says now; ok is false when it could not be read.
type volumeState struct {
	Status string `json:"status"`
	Size   int    `json:"size"`
}

func (w *worker) getVolume(ctx context.Context, v *vol) (volumeState, bool) {
	var st volumeState
	r := newCaller(w.t, w.project).do(ctx, http.MethodGet, "/volumes/"+v.id, nil)
	if r.err == nil && r.status == http.StatusNotFound {
		v.gone = true
		return st, false
	}
	if r.err != nil || r.status != http.StatusOK || r.decode("volume", &st) != nil {
		return st, false
	}
	v.size = st.Size
	return st, true
}

func (w *worker) skip(kind string) { w.rep.op(kind, Skipped) }

func (w *worker) newVolume(ctx context.Context, kind string, body map[string]any, size int) *vol {
	r := w.send(ctx, kind, http.MethodPost, "/volumes", map[string]any{"volume": body})
	if r.outcome() != Accepted {
		return nil
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.decode("volume", &out); err != nil || out.ID == "" {
		w.rep.violation("%s: 202 without a volume id: %v", kind, err)
		return nil
	}
	w.created()
	v := &vol{id: out.ID, project: w.project, size: size}
	w.reg.addVol(v)
	w.rep.accept(accepted{kind: "create", id: out.ID})
	return v
}

func (w *worker) create(ctx context.Context) {
	size := 1 + w.rng.IntN(2)
	w.newVolume(ctx, "create", map[string]any{"size": size, "name": "fault-" + w.project}, size)
}

// burst sends five creates at once, or five create-then-delete, as a busy client does.
func (w *worker) burst(ctx context.Context) {
	seeds := [5]uint64{}
	for i := range seeds {
		seeds[i] = w.rng.Uint64()
	}
	withDelete := w.rng.IntN(2) == 0
	var wg sync.WaitGroup
	for i := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := *w
			sub.rng = rand.New(rand.NewPCG(seeds[i], 0))
			if withDelete {
				sub.createDelete(ctx)
			} else {
				sub.create(ctx)
			}
		}()
	}
	wg.Wait()
}

// createDelete deletes a volume at once after its create was accepted, racing the scheduler.
func (w *worker) createDelete(ctx context.Context) {
	r := w.send(ctx, "create-delete", http.MethodPost, "/volumes", map[string]any{"volume": map[string]any{"size": 1, "name": "fault-cd"}})
	if r.outcome() != Accepted {
		return
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.decode("volume", &out); err != nil || out.ID == "" {
		w.rep.violation("create-delete: 202 without a volume id: %v", err)
		return
	}
	w.created()
	w.rep.accept(accepted{kind: "create", id: out.ID})
	v := &vol{id: out.ID, project: w.project, size: 1, busy: true}
	w.reg.addVol(v)
	// A few tries, a moment apart: while unplaced the volume may be deleted; once placed
	// and still creating it may not; once available it may again.
	for range 3 {
		d := w.send(ctx, "create-delete:delete", http.MethodDelete, "/volumes/"+out.ID, nil)
		if d.outcome() == Accepted {
			v.gone = true
			w.rep.accept(accepted{kind: "delete", id: out.ID})
			break
		}
		time.Sleep(time.Duration(w.rng.IntN(30)) * time.Millisecond)
	}
	w.reg.putVol(v)
}

func (w *worker) delete(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, func(v *vol) bool { return v.attachment == "" })
	if v == nil {
		w.skip("delete")
		return
	}
	defer w.reg.putVol(v)
	st, ok := w.getVolume(ctx, v)
	if !ok || !(st.Status == "available" || st.Status == "error" || st.Status == "error_extending") {
		w.skip("delete")
		return
	}
	cascade := w.rng.IntN(2) == 0
	if !cascade && w.reg.liveSnaps(v.id) > 0 {
		cascade = true
	}
	path := "/volumes/" + v.id
	if cascade {
		path += "?cascade=true"
	}
	if w.send(ctx, "delete", http.MethodDelete, path, nil).outcome() == Accepted {
		v.gone = true
		w.reg.dropSnaps(v.id)
		w.rep.accept(accepted{kind: "delete", id: v.id})
	}
}

func (w *worker) extend(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, func(v *vol) bool { return v.size < 4 })
	if v == nil {
		w.skip("extend")
		return
	}
	defer w.reg.putVol(v)
	st, ok := w.getVolume(ctx, v)
	if !ok || st.Status != "available" && st.Status != "in-use" {
		w.skip("extend")
		return
	}
	newSize := st.Size + 1
	r := w.send(ctx, "extend", http.MethodPost, "/volumes/"+v.id+"/action", map[string]any{"os-extend": map[string]any{"new_size": newSize}})
	if r.outcome() == Accepted {
		w.rep.accept(accepted{kind: "extend", id: v.id, size: newSize})
	}
}

func (w *worker) snapshot(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, nil)
	if v == nil {
		w.skip("snapshot")
		return
	}
	defer w.reg.putVol(v)
	st, ok := w.getVolume(ctx, v)
	if !ok || st.Status != "available" {
		w.skip("snapshot")
		return
	}
	r := w.send(ctx, "snapshot", http.MethodPost, "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": v.id, "name": "fault-snap"}})
	if r.outcome() != Accepted {
		return
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.decode("snapshot", &out); err != nil || out.ID == "" {
		w.rep.violation("snapshot: 202 without a snapshot id: %v", err)
		return
	}
	w.reg.addSnap(&snap{id: out.ID, volID: v.id, project: w.project, size: st.Size})
	w.rep.accept(accepted{kind: "snapshot", id: out.ID})
}

func (w *worker) snapshotState(ctx context.Context, s *snap) (string, bool) {
	var st struct {
		Status string `json:"status"`
	}
	r := newCaller(w.t, w.project).do(ctx, http.MethodGet, "/snapshots/"+s.id, nil)
	if r.err == nil && r.status == http.StatusNotFound {
		s.gone = true
		return "", false
	}
	if r.err != nil || r.status != http.StatusOK || r.decode("snapshot", &st) != nil {
		return "", false
	}
	return st.Status, true
}

func (w *worker) snapshotDelete(ctx context.Context) {
	s := w.reg.takeSnap(w.rng, w.project)
	if s == nil {
		w.skip("snapshot-delete")
		return
	}
	defer w.reg.putSnap(s)
	status, ok := w.snapshotState(ctx, s)
	if !ok || status != "available" && status != "error" {
		w.skip("snapshot-delete")
		return
	}
	if w.send(ctx, "snapshot-delete", http.MethodDelete, "/snapshots/"+s.id, nil).outcome() == Accepted {
		s.gone = true
		w.rep.accept(accepted{kind: "snapshot-delete", id: s.id})
	}
}

func (w *worker) clone(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, nil)
	if v == nil {
		w.skip("clone")
		return
	}
	defer w.reg.putVol(v)
	st, ok := w.getVolume(ctx, v)
	if !ok || st.Status != "available" {
		w.skip("clone")
		return
	}
	w.newVolume(ctx, "clone", map[string]any{"size": st.Size, "source_volid": v.id, "name": "fault-clone"}, st.Size)
}

func (w *worker) fromSnapshot(ctx context.Context) {
	s := w.reg.takeSnap(w.rng, w.project)
	if s == nil {
		w.skip("from-snapshot")
		return
	}
	defer w.reg.putSnap(s)
	status, ok := w.snapshotState(ctx, s)
	if !ok || status != "available" {
		w.skip("from-snapshot")
		return
	}
	size := s.size + w.rng.IntN(2)
	w.newVolume(ctx, "from-snapshot", map[string]any{"size": size, "snapshot_id": s.id, "name": "fault-fromsnap"}, size)
}

// attach creates an attachment with a connector (the local-file backend answers with a
// `local` connection) and completes it, as the compute service does for an instance.
func (w *worker) attach(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, func(v *vol) bool { return v.attachment == "" })
	if v == nil {
		w.skip("attach")
		return
	}
	defer w.reg.putVol(v)
	st, ok := w.getVolume(ctx, v)
	if !ok || st.Status != "available" {
		w.skip("attach")
		return
	}
	connector := map[string]any{"host": "fault-compute", "initiator": "iqn.1993-08.org.debian:01:fault",
		"ip": "127.0.0.1", "platform": "x86_64", "os_type": "linux", "multipath": false}
	r := w.sendAsCompute(ctx, "attach", http.MethodPost, "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": v.id, "instance_uuid": "7d5b7c4e-7f3a-4f5e-9a43-6f1d2c3b4a5e", "connector": connector, "mode": "rw"}})
	if r.outcome() != Accepted {
		return
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.decode("attachment", &out); err != nil || out.ID == "" {
		w.rep.violation("attach: %d without an attachment id: %v", r.status, err)
		return
	}
	v.attachment = out.ID
	w.rep.accept(accepted{kind: "attach", id: out.ID})
	w.sendAsCompute(ctx, "attach:complete", http.MethodPost, "/attachments/"+out.ID+"/action", map[string]any{"os-complete": nil})
}

func (w *worker) detach(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, func(v *vol) bool { return v.attachment != "" })
	if v == nil {
		w.skip("detach")
		return
	}
	defer w.reg.putVol(v)
	r := w.sendAsCompute(ctx, "detach", http.MethodDelete, "/attachments/"+v.attachment, nil)
	if r.outcome() == Accepted || r.status == http.StatusNotFound {
		if r.outcome() == Accepted {
			w.rep.accept(accepted{kind: "detach", id: v.attachment})
		}
		v.attachment = ""
	}
}

// transfer offers a volume to the next project, which accepts it; a transfer that cannot be
// accepted is deleted again.
func (w *worker) transfer(ctx context.Context) {
	v := w.reg.takeVol(w.rng, w.project, func(v *vol) bool { return v.attachment == "" })
	if v == nil {
		w.skip("transfer")
		return
	}
	defer w.reg.putVol(v)
	st, ok := w.getVolume(ctx, v)
	if !ok || st.Status != "available" {
		w.skip("transfer")
		return
	}
	r := w.send(ctx, "transfer", http.MethodPost, "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": v.id, "name": "fault"}})
	if r.outcome() != Accepted {
		return // an offer whose answer was lost is deleted at the end (cleanupTransfers)
	}
	var out struct {
		ID      string `json:"id"`
		AuthKey string `json:"auth_key"`
	}
	if err := r.decode("transfer", &out); err != nil || out.ID == "" || out.AuthKey == "" {
		w.rep.violation("transfer: 202 without id or auth_key: %v", err)
		return
	}
	a := w.sendAs(ctx, w.receiver, "transfer:accept", http.MethodPost, "/volume-transfers/"+out.ID+"/accept",
		map[string]any{"accept": map[string]any{"auth_key": out.AuthKey}})
	if a.outcome() == Accepted {
		v.project = w.receiver
		w.reg.moveSnaps(v.id, w.receiver)
		w.rep.accept(accepted{kind: "transfer", id: v.id, project: w.receiver})
		return
	}
	if a.outcome() == NoAnswer {
		// It may have been accepted: the volume's owner is unknown from here on.
		v.gone = true
		w.reg.dropSnaps(v.id)
	}
	w.send(ctx, "transfer:delete", http.MethodDelete, "/volume-transfers/"+out.ID, nil)
}
