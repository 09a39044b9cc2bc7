package load

// The copy phases: clones (POST /volumes with source_volid) and snapshots (POST /snapshots)
// of the volumes the create phase made available. They were written for the NFS backend,
// whose clones are qemu-img converts and whose snapshots are qcow2 overlays on the share,
// but they ask nothing of the backend beyond Cinder's API.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// Copies chooses the copy phases RunCopies adds to Run's.
type Copies struct {
	Clones    bool // one clone of every available volume (create→available), then its delete→gone
	Snapshots bool // one snapshot of every available volume (create→available), then its delete→gone
}

// CopyResult is the outcome of the copy phases; a phase that did not run has Name "".
type CopyResult struct {
	CloneCreate    Phase // POST /volumes {"source_volid"}, then until the clone is available
	CloneDelete    Phase // DELETE /volumes/{clone}, then until 404
	SnapshotCreate Phase // POST /snapshots, then GET /snapshots/{id} until available
	SnapshotDelete Phase // DELETE /snapshots/{id}, then GET until 404
}

// Phases are the copy phases in order, those that did not run included (Name "").
func (c *CopyResult) Phases() []Phase {
	return []Phase{c.CloneCreate, c.CloneDelete, c.SnapshotCreate, c.SnapshotDelete}
}

// Errors is the number of failed operations of the copy phases.
func (c *CopyResult) Errors() int {
	n := 0
	for _, p := range c.Phases() {
		n += p.Errors
	}
	return n
}

// RunCopies is Run with the chosen copy phases between the GET phase and the attach (or
// delete) phase: clones of every available volume, then their deletes; snapshots of every
// available volume, then their deletes. It always tries to delete what it created, copies
// first. An error means the run could not be made; failed operations are counted in the
// phases.
func RunCopies(ctx context.Context, cfg Config, copies Copies) (*Result, *CopyResult, error) {
	if cfg.Endpoint == "" {
		return nil, nil, fmt.Errorf("load: Config.Endpoint is required")
	}
	cfg.defaults()
	if cfg.Wait != WaitList && cfg.Wait != WaitGet {
		return nil, nil, fmt.Errorf("load: Config.Wait %q is neither %q nor %q", cfg.Wait, WaitList, WaitGet)
	}
	cl := blockstorage.New(cfg.Endpoint, cfg.Project)
	tr := &http.Transport{MaxIdleConns: 4 * cfg.C, MaxIdleConnsPerHost: 4 * cfg.C, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	cl.HTTP = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	r := &runner{cfg: cfg, cl: cl}
	if _, err := cl.Do(ctx, http.MethodGet, "/volumes?limit=1", nil, nil); err != nil {
		return nil, nil, fmt.Errorf("load: endpoint not reachable: %w", err)
	}
	res, cres := &Result{Config: cfg}, &CopyResult{}
	logPhase := func(p Phase) {
		r.progress("  %d ok, %d errors in %s", p.OK, p.Errors, p.Wall.Round(time.Millisecond))
	}
	r.progress("create→available: %d volumes of %d GiB, concurrency %d", cfg.N, cfg.Size, cfg.C)
	res.Create = r.create(ctx)
	logPhase(res.Create)
	if cfg.Gets > 0 && len(r.available) > 0 && ctx.Err() == nil {
		r.progress("GET /volumes/{id}: %d requests, concurrency %d", cfg.Gets, cfg.C)
		res.Get = r.get(ctx)
		logPhase(res.Get)
	}
	// Deleting is cleanup: it runs even when ctx ended, for a bounded time.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout+time.Minute)
	defer cancel()
	sources := r.available
	if copies.Clones && len(sources) > 0 {
		var clones []string
		if ctx.Err() == nil {
			r.progress("clone→available: %d clones, concurrency %d", len(sources), cfg.C)
			cres.CloneCreate, clones = r.clone(ctx, sources)
			logPhase(cres.CloneCreate)
		}
		if len(clones) > 0 {
			r.progress("clone delete→gone: %d clones, concurrency %d", len(clones), cfg.C)
			cres.CloneDelete = r.deleteVolumes(dctx, "clone delete→gone", clones)
			logPhase(cres.CloneDelete)
		}
	}
	if copies.Snapshots && len(sources) > 0 {
		var snaps []string
		if ctx.Err() == nil {
			r.progress("snapshot create→available: %d snapshots, concurrency %d", len(sources), cfg.C)
			cres.SnapshotCreate, snaps = r.snapshot(ctx, sources)
			logPhase(cres.SnapshotCreate)
		}
		if len(snaps) > 0 {
			r.progress("snapshot delete→gone: %d snapshots, concurrency %d", len(snaps), cfg.C)
			cres.SnapshotDelete = r.deleteSnapshots(dctx, snaps)
			logPhase(cres.SnapshotDelete)
		}
	}
	if cfg.Attach && len(r.available) > 0 && ctx.Err() == nil {
		r.progress("attach: %d volumes, concurrency %d", len(r.available), cfg.C)
		res.Attach = r.attach(ctx)
		logPhase(res.Attach)
	}
	if len(r.attachments) > 0 {
		r.progress("detach: %d attachments, concurrency %d", len(r.attachments), cfg.C)
		res.Detach = r.detach(dctx)
		logPhase(res.Detach)
	}
	r.progress("delete→gone: %d volumes, concurrency %d", len(r.created), cfg.C)
	res.Delete = r.delete(dctx)
	logPhase(res.Delete)
	return res, cres, ctx.Err()
}

// clone creates one clone of each source and waits until it is available; it returns the
// phase and every clone the API accepted.
func (r *runner) clone(ctx context.Context, sources []string) (Phase, []string) {
	rec := &recorder{phase: Phase{Name: "clone→available", Unit: "vol/s"}}
	w, stop := r.watch(ctx, rec, "creating")
	defer stop()
	var accepted []string
	p := rec.run(ctx, r.cfg, len(sources), func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		body, err := json.Marshal(map[string]any{"volume": map[string]any{
			"name": fmt.Sprintf("load-clone-%05d", i), "size": r.cfg.Size, "source_volid": sources[i],
		}})
		if err != nil {
			rec.fail(err)
			return
		}
		id, err := r.postCreate(ctx, "/volumes", "volume", body)
		if err != nil {
			rec.fail(err)
			return
		}
		r.mu.Lock()
		accepted = append(accepted, id)
		r.mu.Unlock()
		end, err := r.until(ctx, rec, w, id, time.Now(), "available")
		if err != nil {
			rec.fail(fmt.Errorf("clone of %s: %w", sources[i], err))
			return
		}
		rec.ok(end.Sub(start))
	})
	return p, accepted
}

// deleteVolumes deletes ids and waits until each is gone, as the delete phase does.
func (r *runner) deleteVolumes(ctx context.Context, name string, ids []string) Phase {
	rec := &recorder{phase: Phase{Name: name, Unit: "vol/s"}}
	w, stop := r.watch(ctx, rec, "deleting")
	defer stop()
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

// snapshot creates one snapshot of each volume and polls it until it is available; it
// returns the phase and every snapshot the API accepted.
func (r *runner) snapshot(ctx context.Context, volumes []string) (Phase, []string) {
	rec := &recorder{phase: Phase{Name: "snapshot→available", Unit: "snap/s"}}
	var accepted []string
	p := rec.run(ctx, r.cfg, len(volumes), func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		body, err := json.Marshal(map[string]any{"snapshot": map[string]any{
			"name": fmt.Sprintf("load-snap-%05d", i), "volume_id": volumes[i], "force": false,
		}})
		if err != nil {
			rec.fail(err)
			return
		}
		id, err := r.postCreate(ctx, "/snapshots", "snapshot", body)
		if err != nil {
			rec.fail(err)
			return
		}
		r.mu.Lock()
		accepted = append(accepted, id)
		r.mu.Unlock()
		end, err := r.waitSnapshot(ctx, rec, id, "available")
		if err != nil {
			rec.fail(fmt.Errorf("snapshot of %s: %w", volumes[i], err))
			return
		}
		rec.ok(end.Sub(start))
	})
	return p, accepted
}

// deleteSnapshots deletes ids and polls each until it is gone.
func (r *runner) deleteSnapshots(ctx context.Context, ids []string) Phase {
	rec := &recorder{phase: Phase{Name: "snapshot delete→gone", Unit: "snap/s"}}
	return rec.run(ctx, r.cfg, len(ids), func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		path := "/snapshots/" + url.PathEscape(ids[i])
		resp, err := r.cl.Do(ctx, http.MethodDelete, path, nil, nil)
		if err == nil && resp.Status != http.StatusAccepted {
			err = fault(http.MethodDelete, path, resp)
		}
		if err != nil {
			rec.fail(err)
			return
		}
		end, err := r.waitSnapshot(ctx, rec, ids[i], "")
		if err != nil {
			rec.fail(err)
			return
		}
		rec.ok(end.Sub(start))
	})
}

// postCreate sends POST path with body, expects 202 and returns the id of the created resource,
// read from the answer's {"<key>": {"id": …}}.
func (r *runner) postCreate(ctx context.Context, path, key string, body []byte) (string, error) {
	resp, err := r.cl.Do(ctx, http.MethodPost, path, body, nil)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusAccepted {
		return "", fault(http.MethodPost, path, resp)
	}
	var out map[string]struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out[key].ID == "" {
		return "", fmt.Errorf("POST %s: 202 answer without a %s id (%v): %.300s", path, key, err, resp.Body)
	}
	return out[key].ID, nil
}

// waitSnapshot polls GET /snapshots/{id} every Poll until the snapshot has status want (want
// "" means: until it answers 404). Every client polls its own snapshot: the snapshot phases
// always see the end as -wait get does.
func (r *runner) waitSnapshot(ctx context.Context, rec *recorder, id, want string) (time.Time, error) {
	deadline := time.Now().Add(r.cfg.Timeout)
	last := "no answer yet"
	path := "/snapshots/" + url.PathEscape(id)
	t := time.NewTimer(r.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("snapshot %s: %w (last: %s)", id, ctx.Err(), last)
		case <-t.C:
		}
		rec.requests.Add(1)
		resp, err := r.cl.Do(ctx, http.MethodGet, path, nil, nil)
		now := time.Now()
		var s struct {
			Snapshot struct {
				Status string `json:"status"`
			} `json:"snapshot"`
		}
		switch {
		case err != nil:
			last = err.Error()
		case want == "" && resp.Status == http.StatusNotFound:
			return now, nil
		case resp.Status != http.StatusOK:
			last = fault(http.MethodGet, path, resp).Error()
		case json.Unmarshal(resp.Body, &s) != nil:
			last = fmt.Sprintf("undecodable answer: %.200s", resp.Body)
		case s.Snapshot.Status == want:
			return now, nil
		case s.Snapshot.Status == "error" || s.Snapshot.Status == "error_deleting":
			return time.Time{}, fmt.Errorf("snapshot %s went to %s", id, s.Snapshot.Status)
		default:
			last = "status " + s.Snapshot.Status
		}
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("snapshot %s: not %s after %s (last: %s)", id, orGone(want), r.cfg.Timeout, last)
		}
		t.Reset(r.cfg.Poll)
	}
}

// WriteTable prints the copy phases as a small table for a person, in Result.WriteTable's
// columns; cfg is the run's (Result.Config).
func (c *CopyResult) WriteTable(w io.Writer, cfg Config) error {
	fmt.Fprintf(w, "\ncopies of the %d GiB volumes, concurrency %d: clone = POST /volumes {\"source_volid\"}, its end seen as a create's;\n", cfg.Size, cfg.C)
	fmt.Fprintf(w, "snapshot = POST /snapshots, its end seen by each client polling GET /snapshots/{id} every %s\n\n", cfg.Poll)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tok\terrors\twall\trate\tp50\tp90\tp99\tmax\trequests\t")
	for _, p := range c.Phases() {
		if p.Name == "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f %s\t%s\t%s\t%s\t%s\t%d\t\n", p.Name, p.OK, p.Errors,
			FormatDuration(p.Wall), p.Rate(), p.Unit,
			FormatDuration(p.Latency.P50), FormatDuration(p.Latency.P90), FormatDuration(p.Latency.P99),
			FormatDuration(p.Latency.Max), p.Requests)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range c.Phases() {
		if p.FirstErr != "" {
			fmt.Fprintf(w, "first error of %s: %s\n", p.Name, p.FirstErr)
		}
	}
	return nil
}
