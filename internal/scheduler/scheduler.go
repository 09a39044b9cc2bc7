// Package scheduler places each new volume on a backend pool. It learns the pools from the
// capability reports volume services fan out, considers only services whose heartbeat is
// fresh, and retries a failed create on another pool up to scheduler_max_attempts.
//
// The pipeline of this first placement is: candidates (pools of up, enabled services that
// reported) → filters (availability zone, not already tried, capacity) → weigher (most
// virtual free capacity) → claim (a conditional UPDATE of the volume's host) → cast to the
// chosen volume service. Every pool a filter removes is counted with the reason, so a failed
// placement says why.
package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
)

// Store is what the scheduler needs of the database.
type Store interface {
	GetVolume(ctx context.Context, id string) (*resource.Volume, error)
	TransitionVolume(ctx context.Context, id string, from []string, ch resource.VolumeChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	ListServices(ctx context.Context, f resource.ServiceFilter) ([]*resource.Service, error)
}

// Scheduler is the scoria-scheduler service.
type Scheduler struct {
	Store           Store
	Transport       rpc.Transport
	Log             logrus.FieldLogger
	ServiceDownTime time.Duration
	MaxAttempts     int
	Now             func() time.Time
	// StartupWait is how long, after Started, a create waits for capability reports from every
	// up volume service before it is placed on what is known (Cinder's
	// scheduler_driver_init_wait_time). A scheduler that just started knows no pool yet; without
	// the wait it would fail every create queued while it was down.
	StartupWait time.Duration
	Started     time.Time

	mu       sync.Mutex
	backends map[string]*backendState // by host@backend
}

type backendState struct {
	report   message.CapabilitiesArgs
	consumed map[string]float64 // GiB placed per pool since the report
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

// Handle is the RPC handler of the scheduler topic.
func (s *Scheduler) Handle(ctx context.Context, msg *rpc.Message) (any, error) {
	switch msg.Method {
	case message.UpdateCapabilities:
		var args message.CapabilitiesArgs
		if err := json.Unmarshal(msg.Args, &args); err != nil {
			return nil, fmt.Errorf("decode capabilities: %w", err)
		}
		s.UpdateCapabilities(args)
		return nil, nil
	case message.CreateVolume:
		var args message.CreateVolumeArgs
		if err := json.Unmarshal(msg.Args, &args); err != nil {
			reqctx.Log(ctx, s.Log).WithError(err).Error("dropping create_volume with undecodable arguments")
			return nil, nil
		}
		return nil, s.CreateVolume(ctx, args)
	default:
		reqctx.Log(ctx, s.Log).WithField("method", msg.Method).Warn("scheduler: unknown method ignored")
		return nil, nil
	}
}

// UpdateCapabilities records a backend's report, replacing its previous one.
func (s *Scheduler) UpdateCapabilities(args message.CapabilitiesArgs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backends == nil {
		s.backends = map[string]*backendState{}
	}
	if old, ok := s.backends[args.Host]; ok && old.report.ReportedAt.After(args.ReportedAt) {
		return // an older report arriving late
	}
	s.backends[args.Host] = &backendState{report: args, consumed: map[string]float64{}}
	s.Log.WithFields(logrus.Fields{"host": args.Host, "pools": len(args.Stats.Pools)}).Debug("capabilities updated")
}

// Reported returns how many backends have reported.
func (s *Scheduler) Reported() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.backends)
}

// CreateVolume places a volume and hands it to the chosen volume service. It is idempotent:
// a redelivered request for a volume already placed is sent on to the same service.
func (s *Scheduler) CreateVolume(ctx context.Context, args message.CreateVolumeArgs) error {
	log := reqctx.Log(ctx, s.Log).WithField("volume_id", args.VolumeID)
	v, err := s.Store.GetVolume(ctx, args.VolumeID)
	if errors.Is(err, resource.ErrNotFound) {
		log.Warn("create_volume for a volume that no longer exists; dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("load volume %s: %w", args.VolumeID, err)
	}
	if v.Status != resource.StatusCreating {
		log.WithField("status", v.Status).Info("create_volume for a volume no longer creating; dropped")
		return nil
	}
	if args.Attempts == 0 && v.Host != "" {
		log.WithField("host", v.Host).Info("create_volume redelivered; sending it on to the chosen host")
		args.Attempts = 1
		return s.Transport.Cast(ctx, message.VolumeTarget(v.Host), message.CreateVolume, args)
	}
	if args.Attempts >= s.maxAttempts() {
		reason := fmt.Sprintf("exceeded %d scheduling attempts for volume %s; last error: %s", s.maxAttempts(), v.ID, args.LastError)
		return s.fail(ctx, log, v.ID, reason)
	}
	services, err := s.Store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume})
	if err != nil {
		return fmt.Errorf("list volume services: %w", err)
	}
	s.waitForReports(ctx, services)
	host, why := s.place(request{size: v.Size, zone: v.AvailabilityZone, tried: args.TriedHosts}, services)
	if host == "" {
		return s.fail(ctx, log, v.ID, why)
	}
	_, err = s.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating},
		resource.VolumeChange{Status: resource.StatusCreating, Host: &host, WhereHostNull: args.Attempts == 0})
	if errors.Is(err, resource.ErrInvalidState) || errors.Is(err, resource.ErrNotFound) {
		log.WithError(err).Info("volume changed while being placed; dropped")
		s.release(host, v.Size)
		return nil
	}
	if err != nil {
		s.release(host, v.Size)
		return fmt.Errorf("record host of volume %s: %w", v.ID, err)
	}
	args.Attempts++
	log.WithFields(logrus.Fields{"host": host, "attempt": args.Attempts}).Info("volume placed")
	if err := s.Transport.Cast(ctx, message.VolumeTarget(host), message.CreateVolume, args); err != nil {
		return fmt.Errorf("cast create_volume to %s: %w", host, err)
	}
	return nil
}

// waitForReports blocks while the scheduler is in its start-up window and some up, enabled
// volume service has not reported its capabilities yet.
func (s *Scheduler) waitForReports(ctx context.Context, services []*resource.Service) {
	for s.now().Sub(s.Started) < s.StartupWait {
		missing := 0
		s.mu.Lock()
		for _, svc := range services {
			if _, ok := s.backends[svc.Host]; !ok && !svc.Disabled && svc.Up(s.now(), s.ServiceDownTime) {
				missing++
			}
		}
		s.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (s *Scheduler) maxAttempts() int {
	if s.MaxAttempts < 1 {
		return 3
	}
	return s.MaxAttempts
}

func (s *Scheduler) fail(ctx context.Context, log *logrus.Entry, id, reason string) error {
	log.WithField("reason", reason).Error("volume could not be scheduled")
	_, err := s.Store.TransitionVolume(ctx, id, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError})
	if err != nil && !errors.Is(err, resource.ErrInvalidState) && !errors.Is(err, resource.ErrNotFound) {
		return fmt.Errorf("set volume %s to error: %w", id, err)
	}
	return nil
}

type request struct {
	size  int
	zone  string
	tried []string
}

// place chooses a pool (host@backend#pool) for req and consumes its capacity, or returns ""
// and a sentence that says why nothing fits.
func (s *Scheduler) place(req request, services []*resource.Service) (string, string) {
	up := map[string]bool{}
	var down []string
	for _, svc := range services {
		switch {
		case svc.Disabled:
			down = append(down, svc.Host+" disabled")
		case !svc.Up(s.now(), s.ServiceDownTime):
			down = append(down, svc.Host+" down")
		default:
			up[svc.Host] = true
		}
	}
	tried := map[string]bool{}
	for _, h := range req.tried {
		tried[h] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		total                          int
		best                           string
		bestState                      *backendState
		bestPool                       string
		bestWeight                     float64
		wrongZone, noCapacity, retried int
	)
	hosts := make([]string, 0, len(s.backends))
	for h := range s.backends {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts) // deterministic among equal weights
	for _, h := range hosts {
		st := s.backends[h]
		if !up[h] {
			continue
		}
		for _, p := range st.report.Stats.Pools {
			total++
			name := h + "#" + p.Name
			switch {
			case req.zone != "" && st.report.AvailabilityZone != req.zone:
				wrongZone++
				continue
			case tried[name]:
				retried++
				continue
			}
			free, ok := fits(p, st.consumed[p.Name], float64(req.size))
			if !ok {
				noCapacity++
				continue
			}
			if best == "" || free > bestWeight {
				best, bestState, bestPool, bestWeight = name, st, p.Name, free
			}
		}
	}
	if best != "" {
		bestState.consumed[bestPool] += float64(req.size)
		return best, ""
	}
	var parts []string
	if wrongZone > 0 {
		parts = append(parts, fmt.Sprintf("%d in another availability zone than %s", wrongZone, req.zone))
	}
	if retried > 0 {
		parts = append(parts, fmt.Sprintf("%d already failed this volume", retried))
	}
	if noCapacity > 0 {
		parts = append(parts, fmt.Sprintf("%d lack capacity for %d GiB", noCapacity, req.size))
	}
	msg := fmt.Sprintf("No valid backend: 0/%d pools fit", total)
	if len(parts) > 0 {
		msg += " — " + strings.Join(parts, ", ")
	}
	if len(down) > 0 {
		sort.Strings(down)
		msg += "; " + strings.Join(down, ", ")
	}
	return "", msg
}

// release gives back capacity consumed for a placement that was not used.
func (s *Scheduler) release(host string, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.backends[message.BackendHost(host)]; ok {
		st.consumed[message.PoolName(host)] -= float64(size)
	}
}
