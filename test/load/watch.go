package load

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// How a client sees that its create or delete ended (Config.Wait).
const (
	// WaitList: one poller lists the volumes still in creating (deleting) every Poll; a
	// client whose volume left that list confirms the end with one GET. The measurement
	// costs the servers about one list per Poll, whatever the concurrency.
	WaitList = "list"
	// WaitGet: every client polls GET /volumes/{id} every Poll: the measurement costs the
	// servers C/Poll requests per second.
	WaitGet = "get"
)

// watcher lists the volumes in one transient status every interval and tells each waiting
// client when its volume is no longer listed.
type watcher struct {
	cl       *blockstorage.Client
	status   string // creating or deleting
	interval time.Duration
	rec      *recorder

	mu      sync.Mutex
	waiting map[string]*waiter
	lastErr string
}

type waiter struct {
	since time.Time      // only lists sent after this count
	done  chan time.Time // the time the first list without the volume was answered
}

func newWatcher(cl *blockstorage.Client, status string, interval time.Duration, rec *recorder) *watcher {
	return &watcher{cl: cl, status: status, interval: interval, rec: rec, waiting: map[string]*waiter{}}
}

// run lists until ctx ends.
func (w *watcher) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	query := url.Values{"status": {w.status}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		idle := len(w.waiting) == 0
		w.mu.Unlock()
		if idle {
			continue
		}
		sent := time.Now()
		w.rec.requests.Add(1)
		vols, err := w.cl.ListVolumes(ctx, query)
		answered := time.Now()
		w.mu.Lock()
		if err != nil {
			w.lastErr = err.Error()
			w.mu.Unlock()
			continue
		}
		listed := make(map[string]bool, len(vols))
		for _, v := range vols {
			if v.Status == w.status { // a server that ignored the filter lists others too
				listed[v.ID] = true
			}
		}
		for id, wt := range w.waiting {
			if wt.since.Before(sent) && !listed[id] {
				wt.done <- answered
				delete(w.waiting, id)
			}
		}
		w.mu.Unlock()
	}
}

// wait returns when a list sent after since no longer shows volume id in the watched status.
func (w *watcher) wait(ctx context.Context, id string, since time.Time, timeout time.Duration) (time.Time, error) {
	wt := &waiter{since: since, done: make(chan time.Time, 1)}
	w.mu.Lock()
	w.waiting[id] = wt
	w.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case t := <-wt.done:
		return t, nil
	case <-ctx.Done():
	case <-timer.C:
	}
	w.mu.Lock()
	delete(w.waiting, id)
	last := w.lastErr
	w.mu.Unlock()
	if ctx.Err() != nil {
		return time.Time{}, fmt.Errorf("volume %s still %s: %w", id, w.status, ctx.Err())
	}
	if last != "" {
		return time.Time{}, fmt.Errorf("volume %s still %s after %s (last list error: %s)", id, w.status, timeout, last)
	}
	return time.Time{}, fmt.Errorf("volume %s still %s after %s", id, w.status, timeout)
}
