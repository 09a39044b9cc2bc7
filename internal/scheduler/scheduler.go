// Package scheduler places each new volume on a backend pool, with Cinder's filters and
// weighers. It learns the pools from the capability reports volume services fan out,
// considers only services whose heartbeat is fresh, and retries a failed create on another
// pool up to scheduler_max_attempts. When nothing fits it says why in one sentence. At start
// it schedules again the creates accepted before it whose message was lost (Recover). It
// also places generic volume groups on a pool that fits every volume type of the group
// (groups.go), and volumes created into a group on the group's backend. Its queue is served
// through one RPC routing table (Routes).
//
// The pipeline (see README.md and Pipeline.Place):
//
//	up, enabled services' pools ─▶ not tried ─▶ filters ─▶ weighers ─▶ best ─▶ claim ─▶ cast
//	                                   ▲                                     │ no room: pool marked full
//	                                   └─────────────────────────────────────┘
//
// The pools are a snapshot from the capability reports; the database holds the capacity
// claims, and a placement commits only if its pool's claim still fits the latest state
// (Nomad's plan-apply). Two schedulers, or one racing itself, cannot over-subscribe a pool.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/capability"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Store is what the scheduler needs of the database.
type Store interface {
	GetVolume(ctx context.Context, id string) (*resource.Volume, error)
	TransitionVolume(ctx context.Context, id string, from []string, ch resource.VolumeChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	ListServices(ctx context.Context, f resource.ServiceFilter) ([]*resource.Service, error)
	// UpsertPool records a pool's capacity figures from a report and recomputes its claims.
	UpsertPool(ctx context.Context, p resource.PoolCapacity) error
	// ClaimPlacement records the volume's host and claims its size on the pool, atomically,
	// if the pool still has room by the latest claims.
	ClaimPlacement(ctx context.Context, c resource.Claim) (resource.ClaimResult, error)
}

// PoolReconciler is the optional Store method that recomputes every pool's claims and
// forgets the pools of removed backends (see ReconcileLoop).
type PoolReconciler interface {
	ReconcilePools(ctx context.Context, staleBefore time.Time) ([]string, error)
}

// VolumeCounter is the optional Store method the VolumeNumberWeigher needs: the number of
// volumes (not deleted) per host, host@backend#pool.
type VolumeCounter interface {
	CountVolumesByHost(ctx context.Context) (map[string]int, error)
}

// Scheduler is the scoria-scheduler service.
type Scheduler struct {
	Store           Store
	Transport       rpc.Transport
	Log             logrus.FieldLogger
	ServiceDownTime time.Duration
	MaxAttempts     int
	Now             func() time.Time
	// Pipeline is the filters and weighers; nil is Cinder's default set.
	Pipeline *Pipeline
	// StartupWait is how long, after Started, a create waits for capability reports from every
	// up volume service before it is placed on what is known (Cinder's
	// scheduler_driver_init_wait_time). A scheduler that just started knows no pool yet; without
	// the wait it would fail every create queued while it was down.
	StartupWait time.Duration
	Started     time.Time

	initOnce   sync.Once
	routerOnce sync.Once
	router     *rpc.Router
	mu         sync.Mutex
	backends   map[string]*backendState // by host@backend
}

type backendState struct {
	report rpcapi.CapabilitiesArgs
	pools  []*Pool
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

func (s *Scheduler) pipeline() *Pipeline {
	s.initOnce.Do(func() {
		if s.Pipeline == nil {
			s.Pipeline, _ = NewPipeline(DefaultOptions())
		}
	})
	return s.Pipeline
}

// Handle is the RPC handler of the scheduler topic: the scheduler's routing table (Routes).
func (s *Scheduler) Handle(ctx context.Context, msg *rpc.Message) (any, error) {
	s.routerOnce.Do(func() { s.router = s.Routes() })
	return s.router.Handle(ctx, msg)
}

// Routes is the scheduler's RPC routing table: each method it serves with its typed
// arguments. An unknown method or undecodable arguments are refused (rpc.ErrUndeliverable).
func (s *Scheduler) Routes() *rpc.Router {
	r := rpc.NewRouter("scheduler", s.Log)
	rpc.OnCast(r, rpcapi.UpdateCapabilities, func(ctx context.Context, args rpcapi.CapabilitiesArgs) error {
		// The claims table first: a pool the snapshot offers must have its row to be claimed.
		s.recordPools(ctx, args)
		s.UpdateCapabilities(args)
		return nil
	})
	rpc.OnCast(r, rpcapi.CreateVolume, s.CreateVolume)
	rpc.On(r, rpcapi.GetPools, func(ctx context.Context, args rpcapi.GetPoolsArgs) (any, error) {
		return s.GetPools(ctx, args)
	})
	rpc.OnCast(r, rpcapi.CreateGroup, s.CreateGroup)
	return r
}

// UpdateCapabilities records a backend's report, replacing its previous one and what was
// consumed since.
func (s *Scheduler) UpdateCapabilities(args rpcapi.CapabilitiesArgs) {
	pools := newPools(args) // outside the lock: the merge and the function parsing
	log := s.Log.WithField("host", args.Host)
	if len(pools) > 0 {
		if err := pools[0].filterFnErr; err != nil {
			log.WithError(err).Warn("filter_function does not parse: DriverFilter will reject this backend")
		}
		if err := pools[0].goodnessFnErr; err != nil {
			log.WithError(err).Warn("goodness_function does not parse: GoodnessWeigher will weigh this backend 0")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backends == nil {
		s.backends = map[string]*backendState{}
	}
	old, known := s.backends[args.Host]
	if known && old.report.ReportedAt.After(args.ReportedAt) {
		return // an older report arriving late
	}
	s.backends[args.Host] = &backendState{report: args, pools: pools}
	switch wasDown, isDown := known && anyDown(old.pools), anyDown(pools); {
	case isDown && !wasDown:
		log.Warn("backend reports itself down (its storage cannot be reached); no volume is placed on it until it reports up")
	case wasDown && !isDown:
		log.Info("backend reports itself up again; placing volumes on it")
	}
	log.WithField("pools", len(pools)).Debug("capabilities updated")
}

// anyDown reports whether one of pools is on a backend that reports itself down.
func anyDown(pools []*Pool) bool {
	for _, p := range pools {
		if p.down {
			return true
		}
	}
	return false
}

// recordPools writes the capacity figures of a report's pools to the claims table (and so
// reconciles their claims). A pool that could not be recorded refuses claims until a later
// report records it; a scheduler that missed it is told by the claim.
func (s *Scheduler) recordPools(ctx context.Context, args rpcapi.CapabilitiesArgs) {
	for _, p := range newPools(args) {
		if err := s.Store.UpsertPool(ctx, p.capacity()); err != nil && ctx.Err() == nil {
			s.Log.WithError(err).WithField("pool", p.Name).Warn("could not record the pool's capacity for claims")
		}
	}
}

// ReconcileLoop recomputes every pool's claims from the volumes each interval, so that drift
// (rows changed by hand) heals between reports, and forgets pools that have not reported for
// a day and hold nothing (a removed backend). It returns when ctx ends.
func (s *Scheduler) ReconcileLoop(ctx context.Context, interval time.Duration) {
	r, ok := s.Store.(PoolReconciler)
	if !ok || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		healed, err := r.ReconcilePools(ctx, s.now().Add(-24*time.Hour))
		switch {
		case err != nil && ctx.Err() == nil:
			s.Log.WithError(err).Warn("could not reconcile the pools' capacity claims")
		case len(healed) > 0:
			s.Log.WithField("pools", healed).Warn("capacity claims drifted from the volumes; recomputed")
		}
	}
}

// Reported returns how many backends have reported.
func (s *Scheduler) Reported() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.backends)
}

// NoValidBackendError is a placement that found no pool; Reason is the sentence that says
// why, for the log and the volume's user message.
type NoValidBackendError struct{ Reason string }

func (e *NoValidBackendError) Error() string { return e.Reason }

// CreateVolume places a volume and hands it to the chosen volume service. It is idempotent:
// a redelivered request for a volume already placed is sent on to the same service.
func (s *Scheduler) CreateVolume(ctx context.Context, args rpcapi.CreateVolumeArgs) error {
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
		return s.Transport.Cast(ctx, rpcapi.VolumeTarget(v.Host), rpcapi.CreateVolume, args)
	}
	if args.Attempts > 0 && args.LastError != "" {
		// Cinder's retry log line: how the storage failed, said by the scheduler too.
		log.WithField("attempt", args.Attempts).Warnf("Error scheduling %s from last vol-service: %s : %s", v.ID, v.Host, args.LastError)
	}
	if args.Attempts >= s.maxAttempts() {
		reason := fmt.Sprintf("exceeded %d scheduling attempts for volume %s; last error: %s", s.maxAttempts(), v.ID, args.LastError)
		return s.fail(ctx, log, v, reason)
	}
	services, err := s.volumeServices(ctx)
	if err != nil {
		return err
	}
	if args.AvailabilityZone == "" {
		args.AvailabilityZone = v.AvailabilityZone
	}
	req := NewRequest(args, v.Size)
	req.ProjectID = v.ProjectID
	if req.source, err = s.findSource(ctx, args); err != nil {
		var nv *NoValidBackendError
		if errors.As(err, &nv) {
			return s.fail(ctx, log, v, nv.Reason)
		}
		return err
	}
	if req.source == nil && v.GroupID != "" { // a volume created into a group: the group's backend
		if req.source, err = s.groupSource(ctx, v.GroupID); err != nil {
			var nv *NoValidBackendError
			if errors.As(err, &nv) {
				return s.fail(ctx, log, v, nv.Reason)
			}
			return err
		}
	}
	req.Volume["display_name"], req.Volume["project_id"], req.Volume["user_id"] = v.Name, v.ProjectID, v.UserID
	req.Volume["multiattach"], req.Volume["bootable"] = v.Multiattach, v.Bootable
	if err := s.lookUp(ctx, req); err != nil {
		return err
	}
	from := ""
	if args.Attempts > 0 {
		from = v.Host // a retry moves the claim from the pool that failed
	}
	host, err := s.place(ctx, log, req, services, from)
	var nv *NoValidBackendError
	if errors.As(err, &nv) {
		return s.fail(ctx, log, v, nv.Reason)
	}
	if errors.Is(err, resource.ErrInvalidState) || errors.Is(err, resource.ErrNotFound) {
		log.WithError(err).Info("volume changed while being placed; dropped")
		return nil
	}
	if err != nil {
		return err
	}
	args.Attempts++
	log.WithFields(logrus.Fields{"host": host, "attempt": args.Attempts}).Info("volume placed")
	if err := s.Transport.Cast(ctx, rpcapi.VolumeTarget(host), rpcapi.CreateVolume, args); err != nil {
		return fmt.Errorf("cast create_volume to %s: %w", host, err)
	}
	return nil
}

// place plans on the snapshot and commits the plan with a capacity claim in the database,
// which re-checks it against the latest claims. A pool whose claim fails is marked full (or
// down, when its backend reported itself down since the snapshot) for this request and the
// pipeline runs again, until a claim succeeds or no pool is left (a *NoValidBackendError
// whose sentence counts those pools as lacking capacity, or as down). Each round removes a
// pool, so it ends.
func (s *Scheduler) place(ctx context.Context, log *logrus.Entry, r *Request, services []*resource.Service, from string) (string, error) {
	for {
		host, err := s.Schedule(ctx, r, services)
		if err != nil {
			return "", err
		}
		res, err := s.Store.ClaimPlacement(ctx, resource.Claim{VolumeID: r.VolumeID, FromHost: from, Pool: host, Size: int(r.Size), Thick: r.thick})
		if err != nil || !res.Claimed {
			s.release(host, r.Size)
		}
		if err != nil {
			return "", err
		}
		if res.Claimed {
			return host, nil
		}
		if res.Down {
			log.WithField("pool", host).Info("capacity claim refused: the pool's backend reports itself down since the snapshot; planning again")
			r.MarkDown(host)
			continue
		}
		unclaimed := max(res.LimitGB-res.AllocatedGB, 0)
		log.WithFields(logrus.Fields{"pool": host, "allocated_gb": res.AllocatedGB, "limit_gb": res.LimitGB, "unrecorded": res.NoPool}).
			Debug("capacity claim refused: the pool filled up since the snapshot; planning again")
		r.MarkFull(host, unclaimed)
	}
}

// lookUp does the I/O the pipeline must not: it resolves the volumes of the affinity hints to
// their pools and counts volumes per pool, each only when a filter or weigher needs it. A
// hint names volumes of the placed volume's project (the caller's, as Cinder's affinity
// filters look them up with the request's context); another project's volume counts as
// one that does not exist, unless the caller is an admin.
func (s *Scheduler) lookUp(ctx context.Context, r *Request) error {
	pl := s.pipeline()
	admin := reqctx.From(ctx).IsAdmin
	resolve := func(hint string, filter string) ([]string, bool, error) {
		h, ok := r.Hints[hint]
		if !ok || !pl.Uses(filter) {
			return nil, false, nil
		}
		ids, err := affinityIDs(h)
		if err != nil {
			r.HintError = hint + " hint: " + err.Error()
			return nil, true, nil
		}
		var hosts []string
		for _, id := range ids {
			v, err := s.Store.GetVolume(ctx, id)
			if errors.Is(err, resource.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, true, fmt.Errorf("look up volume %s of the %s hint: %w", id, hint, err)
			}
			if !admin && v.ProjectID != r.ProjectID {
				continue
			}
			if v.Host != "" {
				hosts = append(hosts, v.Host)
			}
		}
		return hosts, len(ids) > 0, nil
	}
	var err error
	if r.SameHost, r.SameHostSet, err = resolve("same_host", "SameBackendFilter"); err != nil {
		return err
	}
	if r.DifferentHost, r.DifferentHostSet, err = resolve("different_host", "DifferentBackendFilter"); err != nil {
		return err
	}
	if pl.Uses("VolumeNumberWeigher") {
		if c, ok := s.Store.(VolumeCounter); ok {
			if r.VolumeCounts, err = c.CountVolumesByHost(ctx); err != nil {
				return fmt.Errorf("count volumes per pool: %w", err)
			}
		}
	}
	return nil
}

// volumeServices lists the volume services for a placement. In the start-up window it waits,
// listing them again, while the scheduler knows no pool yet or an up, enabled service has
// not reported its capabilities: volume services that start with it (the all-in-one, a
// whole deployment started at once) register and report within moments, and placing before
// that would fail the volume on an empty picture.
func (s *Scheduler) volumeServices(ctx context.Context) ([]*resource.Service, error) {
	for {
		services, err := s.Store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume})
		if err != nil {
			return nil, fmt.Errorf("list volume services: %w", err)
		}
		if s.now().Sub(s.Started) >= s.StartupWait || s.reportsCover(services) {
			return services, nil
		}
		select {
		case <-ctx.Done():
			return services, nil
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// reportsCover reports whether the scheduler knows some pool and has a report of every up,
// enabled service in services.
func (s *Scheduler) reportsCover(services []*resource.Service) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.backends) == 0 {
		return false
	}
	for _, svc := range services {
		if _, ok := s.backends[svc.Host]; !ok && !svc.Disabled && svc.Up(s.now(), s.ServiceDownTime) {
			return false
		}
	}
	return true
}

func (s *Scheduler) maxAttempts() int {
	if s.MaxAttempts < 1 {
		return 3
	}
	return s.MaxAttempts
}

// fail sets a volume that could not be placed to error and, in the same transaction, leaves
// its owner a user message (Cinder's "schedule allocate volume" / no valid backend) whose
// text is reason, the sentence that says why.
func (s *Scheduler) fail(ctx context.Context, log *logrus.Entry, v *resource.Volume, reason string) error {
	log.WithField("reason", reason).Error("volume could not be scheduled")
	ch := resource.VolumeChange{Status: resource.StatusError, Message: &resource.Message{
		ProjectID:    v.ProjectID,
		RequestID:    reqctx.From(ctx).RequestID,
		ResourceType: resource.MessageResourceVolume,
		ResourceUUID: v.ID,
		ActionID:     resource.ActionScheduleAllocateVolume,
		DetailID:     resource.DetailNoBackendAvailable,
		Detail:       reason,
	}}
	_, err := s.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, ch)
	if err != nil && !errors.Is(err, resource.ErrInvalidState) && !errors.Is(err, resource.ErrNotFound) {
		return fmt.Errorf("set volume %s to error: %w", v.ID, err)
	}
	return nil
}

// candidates splits services into the backends whose pools may be considered and the ones
// that may not, and why.
func (s *Scheduler) candidates(services []*resource.Service) (map[string]bool, Unavailable) {
	up := make(map[string]bool, len(services))
	var u Unavailable
	for _, svc := range services {
		switch {
		case svc.Disabled:
			u.Disabled = append(u.Disabled, svc.Host)
		case !svc.Up(s.now(), s.ServiceDownTime):
			u.Down = append(u.Down, svc.Host)
		default:
			up[svc.Host] = true
		}
	}
	return up, u
}

// Schedule runs the pipeline for r over the pools of the up, enabled services and consumes
// the chosen pool's capacity until the next report. It returns the pool (host@backend#pool),
// or a *NoValidBackendError.
func (s *Scheduler) Schedule(ctx context.Context, r *Request, services []*resource.Service) (string, error) {
	up, unavailable := s.candidates(services)
	if r.source != nil {
		up, unavailable = r.source.onlySource(up, unavailable)
	}
	pl := s.pipeline()
	s.mu.Lock()
	n := 0
	for h, b := range s.backends {
		if up[h] {
			n += len(b.pools)
		}
	}
	pools := make([]*Pool, 0, n)
	for h := range up {
		if b, ok := s.backends[h]; ok && r.source != nil {
			for _, p := range b.pools {
				if r.source.keep(p) {
					pools = append(pools, p)
				}
			}
		} else if ok {
			pools = append(pools, b.pools...)
		} else {
			unavailable.Unreported = append(unavailable.Unreported, h)
		}
	}
	res := pl.Place(r, pools)
	if res.Pool != nil {
		res.Pool.consumed += r.Size
	}
	s.mu.Unlock()
	log := reqctx.Log(ctx, s.Log).WithField("volume_id", r.VolumeID)
	for _, n := range r.Notes {
		log.Warn(n)
	}
	if res.Pool == nil {
		reason := Explain(&res.Metrics, r.Size, unavailable)
		if r.source != nil {
			reason = r.source.explain(reason)
		}
		return "", &NoValidBackendError{Reason: reason}
	}
	log.WithFields(logrus.Fields{"pool": res.Pool.Name, "candidates": res.Candidates, "pools": len(pools)}).Debug("pool chosen")
	return res.Pool.Name, nil
}

// release gives back capacity consumed for a placement that was not used.
func (s *Scheduler) release(host string, size float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.backends[rpcapi.BackendHost(host)]; ok {
		for _, p := range b.pools {
			if p.Name == host {
				p.consumed -= size
			}
		}
	}
}

// GetPools is get_pools: the pools of the up, enabled services with their capabilities,
// filtered as Cinder's host manager does: name (host@backend#pool), backend (host@backend),
// any other key compared with the capability of that name, and a volume type whose extra
// specs the pool must satisfy through the configured filters.
func (s *Scheduler) GetPools(ctx context.Context, args rpcapi.GetPoolsArgs) ([]rpcapi.PoolInfo, error) {
	services, err := s.Store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume})
	if err != nil {
		return nil, fmt.Errorf("list volume services: %w", err)
	}
	up, _ := s.candidates(services)
	var req *Request
	if args.VolumeType != nil {
		req = &Request{ExtraSpecs: args.VolumeType.ExtraSpecs}
		req.prepare()
	}
	pl := s.pipeline()
	out := []rpcapi.PoolInfo{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, b := range s.backends {
		if !up[h] {
			continue
		}
		for _, p := range b.pools {
			if !poolMatches(p, args.Filters) || (req != nil && !pl.fits(req, p, nil)) {
				continue
			}
			caps := make(map[string]any, len(p.Caps))
			for k, v := range p.Caps {
				caps[k] = v
			}
			out = append(out, rpcapi.PoolInfo{Name: p.Name, Capabilities: caps})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func poolMatches(p *Pool, filters map[string]string) bool {
	for k, v := range filters {
		switch k {
		case "name":
			if p.Name != v {
				return false
			}
		case "backend":
			if p.Backend != v {
				return false
			}
		case "volume_type":
			// resolved by the API into GetPoolsArgs.VolumeType
		default:
			if !capability.EqualAfterConvert(p.Caps[k], v) {
				return false
			}
		}
	}
	return true
}
