package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// Poll calls check every interval until it reports done, returns an error, or timeout passes.
// check also returns what it saw; a timeout error says what was seen last.
func Poll(ctx context.Context, timeout, interval time.Duration, check func() (done bool, saw string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	last := "nothing yet"
	for {
		done, saw, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if saw != "" {
			last = saw
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s; last saw: %s", time.Since(start).Round(time.Millisecond), last)
		case <-time.After(interval):
		}
	}
}

// poll is Poll that also fails at once when a process the cluster started died by itself.
func (c *Cluster) poll(ctx context.Context, timeout, interval time.Duration, check func() (bool, string, error)) error {
	return Poll(ctx, timeout, interval, func() (bool, string, error) {
		if err := c.CheckProcesses(); err != nil {
			return false, "", err
		}
		return check()
	})
}

// CheckProcesses returns an error naming every process that exited by itself (a crash, or a
// refusal to start), with the tail of its log.
func (c *Cluster) CheckProcesses() error {
	var errs []error
	for _, name := range c.order {
		if err := c.procs[name].Exited(); err != nil {
			errs = append(errs, fmt.Errorf("%w; its log ends:\n%s", err, c.LogTail(name, 30)))
		}
	}
	return errors.Join(errs...)
}

// WaitServicesUp polls GET /os-services until every scheduler, every volume backend and every
// backup service of the cluster are listed, enabled and up.
func (c *Cluster) WaitServicesUp(timeout time.Duration) error {
	want := c.wantSchedulers()
	for _, bh := range c.BackendHosts() {
		want["volume "+bh] = "-volume"
	}
	for _, b := range c.opts.Backups {
		want["backup "+b.Host] = "-backup"
	}
	cl := c.Client()
	err := c.poll(context.Background(), timeout, 200*time.Millisecond, func() (bool, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		services, err := cl.ListServices(ctx)
		if err != nil {
			return false, "GET os-services: " + err.Error(), nil
		}
		var missing, seen []string
		for key, suffix := range want {
			_, host, _ := strings.Cut(key, " ")
			found := false
			for _, s := range services {
				if s.Host == host && strings.HasSuffix(s.Binary, suffix) && s.State == "up" && s.Status == "enabled" {
					found = true
				}
			}
			if !found {
				missing = append(missing, key)
			}
		}
		for _, s := range services {
			seen = append(seen, fmt.Sprintf("%s %s %s/%s", s.Binary, s.Host, s.Status, s.State))
		}
		sort.Strings(missing)
		return len(missing) == 0, fmt.Sprintf("waiting for %v up; listed: %v", missing, seen), nil
	})
	if err != nil {
		return fmt.Errorf("services not up: %w", err)
	}
	return nil
}

// WaitVolumeStatus polls GET /volumes/{id} until its status is one of want and returns the
// status it saw last. Reaching "error" when error is not wanted ends the wait at once.
func (c *Cluster) WaitVolumeStatus(id string, timeout time.Duration, want ...string) (string, error) {
	cl := c.Client()
	status := ""
	err := c.poll(context.Background(), timeout, 100*time.Millisecond, func() (bool, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := cl.GetVolume(ctx, id)
		if err != nil {
			return false, err.Error(), nil
		}
		status = v.Status
		if slices.Contains(want, v.Status) {
			return true, "", nil
		}
		if v.Status == "error" {
			return false, "", fmt.Errorf("volume %s went to error (host %q) while waiting for %v; the logs say:\n%s",
				id, v.Host, want, strings.Join(c.Grep(id, "level=error", "level=warning"), "\n"))
		}
		return false, fmt.Sprintf("volume %s status %s host %q", id, v.Status, v.Host), nil
	})
	if err != nil {
		return status, fmt.Errorf("volume %s not %v: %w", id, want, err)
	}
	return status, nil
}

// WaitVolumeGone polls GET /volumes/{id} until it answers 404.
func (c *Cluster) WaitVolumeGone(id string, timeout time.Duration) error {
	cl := c.Client()
	err := c.poll(context.Background(), timeout, 100*time.Millisecond, func() (bool, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := cl.GetVolume(ctx, id)
		if blockstorage.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		return false, fmt.Sprintf("volume %s status %s host %q", id, v.Status, v.Host), nil
	})
	if err != nil {
		return fmt.Errorf("volume %s not gone: %w", id, err)
	}
	return nil
}

// Grep returns the log lines, of every process, that contain substr and (when levels are
// given) one of levels, each prefixed with the process name.
func (c *Cluster) Grep(substr string, levels ...string) []string {
	var out []string
	for _, name := range c.order {
		b, err := os.ReadFile(c.procs[name].LogPath)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, substr) {
				continue
			}
			if len(levels) > 0 && !slices.ContainsFunc(levels, func(l string) bool { return strings.Contains(line, l) }) {
				continue
			}
			out = append(out, name+": "+line)
		}
	}
	return out
}
