package scheduler

// Generic volume groups are placed as Cinder's create_group flow places them: on a pool that
// passes the pipeline's filters for every volume type the group may hold (each type's extra
// specs, the group's zone) — not the group type's group specs, which Cinder's
// CapabilitiesFilter does not read — the best of them by the weighers of the first type. The choice is recorded as the group's host
// with a conditional UPDATE (only while the group is creating and unplaced, so a redelivered
// create_group cannot place it twice), then create_group goes to that backend. A group no
// pool fits goes to error with a user message whose sentence says why. Volumes created into
// a group go to the group's backend (see CreateVolume), as Cinder's group_backend does.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// GroupStore is the optional Store part that group placement needs.
type GroupStore interface {
	GetGroup(ctx context.Context, id string) (*resource.Group, error)
	GetGroupType(ctx context.Context, id string) (*resource.GroupType, error)
	GetVolumeType(ctx context.Context, id string) (*resource.VolumeType, error)
	PlaceGroup(ctx context.Context, id, host string, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	TransitionGroup(ctx context.Context, id string, from []string, status string, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
}

// GroupRecoveryStore is what group recovery needs besides RecoveryStore.
type GroupRecoveryStore interface {
	ListGroupsInStatus(ctx context.Context, statuses []string, updatedBefore time.Time) ([]*resource.Group, error)
}

// CreateGroup places a group in creating and hands it to the chosen backend's volume
// service. A redelivered request for a group already placed is sent on to the same backend.
func (s *Scheduler) CreateGroup(ctx context.Context, args rpcapi.GroupArgs) error {
	log := reqctx.Log(ctx, s.Log).WithField("group_id", args.GroupID)
	st, ok := s.Store.(GroupStore)
	if !ok {
		log.Error("this scheduler's store cannot place groups; create_group dropped")
		return nil
	}
	g, err := st.GetGroup(ctx, args.GroupID)
	if errors.Is(err, resource.ErrNotFound) {
		log.Warn("create_group for a group that no longer exists; dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("load group %s: %w", args.GroupID, err)
	}
	if g.Status != resource.GroupStatusCreating {
		log.WithField("status", g.Status).Info("create_group for a group no longer creating; dropped")
		return nil
	}
	if g.Host != "" {
		log.WithField("host", g.Host).Info("create_group redelivered; sending it on to the chosen backend")
		return s.Transport.Cast(ctx, rpcapi.VolumeTarget(g.Host), rpcapi.CreateGroup, args)
	}
	gt, err := st.GetGroupType(ctx, g.GroupTypeID)
	if errors.Is(err, resource.ErrNotFound) {
		return s.failGroup(ctx, log, st, g, fmt.Sprintf("No valid backend: group type %s no longer exists", g.GroupTypeID))
	}
	if err != nil {
		return fmt.Errorf("load group type %s: %w", g.GroupTypeID, err)
	}
	var types []*resource.VolumeType
	for _, id := range g.VolumeTypeIDs {
		vt, err := st.GetVolumeType(ctx, id)
		if errors.Is(err, resource.ErrNotFound) {
			return s.failGroup(ctx, log, st, g, fmt.Sprintf("No valid backend: volume type %s no longer exists", id))
		}
		if err != nil {
			return fmt.Errorf("load volume type %s: %w", id, err)
		}
		types = append(types, vt)
	}
	services, err := s.volumeServices(ctx)
	if err != nil {
		return err
	}
	host, reason := s.ScheduleGroup(g, gt, types, services)
	if host == "" {
		return s.failGroup(ctx, log, st, g, reason)
	}
	if _, err := st.PlaceGroup(ctx, g.ID, host); err != nil {
		if errors.Is(err, resource.ErrInvalidState) || errors.Is(err, resource.ErrNotFound) {
			log.WithError(err).Info("group changed while being placed; dropped")
			return nil
		}
		return err
	}
	log.WithField("host", host).Info("group placed")
	if err := s.Transport.Cast(ctx, rpcapi.VolumeTarget(host), rpcapi.CreateGroup, args); err != nil {
		return fmt.Errorf("cast create_group to %s: %w", host, err)
	}
	return nil
}

// ScheduleGroup chooses the pool of a group: one that passes the filters for each of types,
// weighed by the first type's request. The group type's specs are not capabilities: Cinder's
// CapabilitiesFilter reads a resource type's extra_specs, which a group type has not (its
// specs are group_specs), so a consistency group (default_cgsnapshot_type, which asks for
// consistent_group_snapshot_enabled) is placed on any backend, and a backend that cannot
// snapshot the group consistently snapshots it member by member. It returns the pool, or ""
// and the sentence that says why none fits. It does no I/O.
func (s *Scheduler) ScheduleGroup(g *resource.Group, gt *resource.GroupType, types []*resource.VolumeType, services []*resource.Service) (string, string) {
	up, unavailable := s.candidates(services)
	pl := s.pipeline()
	s.mu.Lock()
	var pools []*Pool
	for h := range up {
		if b, ok := s.backends[h]; ok {
			pools = append(pools, b.pools...)
		} else {
			unavailable.Unreported = append(unavailable.Unreported, h)
		}
	}
	s.mu.Unlock()
	metrics := Metrics{Total: len(pools)}
	fit := make([]*Pool, 0, len(pools))
	for _, p := range pools {
		if p.down {
			metrics.reject(-1, Reason{Code: reasonBackendDown, Detail: p.Backend})
			continue
		}
		fit = append(fit, p)
	}
	var first *Request
	for _, vt := range types {
		r := &Request{VolumeID: g.ID, Zone: g.AvailabilityZone, ExtraSpecs: vt.ExtraSpecs,
			Volume: map[string]any{"size": 0, "availability_zone": g.AvailabilityZone, "volume_type_id": vt.ID, "id": g.ID}}
		r.prepare()
		if first == nil {
			first = r
		}
		fit = keepPools(fit, func(p *Pool) bool { return pl.fits(r, p, &metrics) })
	}
	if len(fit) == 0 {
		return "", fmt.Sprintf("%s (group %s: every volume type of the group must fit one pool)",
			Explain(&metrics, 0, unavailable), g.ID)
	}
	if first == nil {
		first = &Request{VolumeID: g.ID}
		first.prepare()
	}
	return pl.best(first, fit).Name, ""
}

func keepPools(pools []*Pool, keep func(*Pool) bool) []*Pool {
	out := pools[:0:0]
	for _, p := range pools {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// failGroup sets a group that could not be placed to error with a user message saying why,
// in one transaction.
func (s *Scheduler) failGroup(ctx context.Context, log *logrus.Entry, st GroupStore, g *resource.Group, reason string) error {
	log.WithField("reason", reason).Error("group could not be scheduled")
	msg := &resource.Message{ProjectID: g.ProjectID, RequestID: reqctx.From(ctx).RequestID,
		ResourceType: resource.MessageResourceGroup, ResourceUUID: g.ID,
		ActionID: resource.ActionScheduleAllocateVolume, DetailID: resource.DetailNoBackendAvailable, Detail: reason}
	_, err := st.TransitionGroup(ctx, g.ID, []string{resource.GroupStatusCreating}, resource.GroupStatusError, msg)
	if err != nil && !errors.Is(err, resource.ErrInvalidState) && !errors.Is(err, resource.ErrNotFound) {
		return fmt.Errorf("set group %s to error: %w", g.ID, err)
	}
	return nil
}

// groupSource is where a volume created into group id must go: the group's backend.
func (s *Scheduler) groupSource(ctx context.Context, id string) (*source, error) {
	what := "group " + id
	st, ok := s.Store.(GroupStore)
	if !ok {
		return nil, &NoValidBackendError{Reason: "No valid backend: this scheduler cannot look up " + what}
	}
	g, err := st.GetGroup(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return nil, &NoValidBackendError{Reason: "No valid backend: " + what + " no longer exists"}
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", what, err)
	}
	if g.Host == "" {
		return nil, &NoValidBackendError{Reason: "No valid backend: " + what + " is on no backend yet"}
	}
	return &source{host: rpcapi.BackendHost(g.Host), what: what, member: true}, nil
}

// recoverGroups casts create_group again, at start, for each group still creating without a
// host, unchanged since before, whose message is no longer in the outbox. (A placed group in
// creating, and groups deleting or updating, are their backend's volume service's to finish.)
func (s *Scheduler) recoverGroups(ctx context.Context, st RecoveryStore, before time.Time) (int, error) {
	gst, ok := st.(GroupRecoveryStore)
	if !ok {
		return 0, nil
	}
	groups, err := gst.ListGroupsInStatus(ctx, []string{resource.GroupStatusCreating}, before)
	if err != nil {
		return 0, err
	}
	var unplaced []*resource.Group
	for _, g := range groups {
		if g.Host == "" {
			unplaced = append(unplaced, g)
		}
	}
	if len(unplaced) == 0 {
		return 0, nil
	}
	rows, err := st.ListOutbox(ctx, rpc.TopicScheduler, rpcapi.CreateGroup)
	if err != nil {
		return 0, err
	}
	pending := map[string]bool{}
	for _, m := range rows {
		var a rpcapi.GroupArgs
		if json.Unmarshal(m.Args, &a) == nil {
			pending[a.GroupID] = true
		}
	}
	sent := 0
	for _, g := range unplaced {
		if pending[g.ID] {
			continue
		}
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: g.UserID, ProjectID: g.ProjectID})
		if err := s.Transport.Cast(rctx, rpcapi.SchedulerTarget(), rpcapi.CreateGroup, rpcapi.GroupArgs{GroupID: g.ID}); err != nil {
			return sent, fmt.Errorf("cast create_group of group %s again: %w", g.ID, err)
		}
		reqctx.Log(rctx, s.Log).WithField("group_id", g.ID).Warn("recovery: a group accepted but never placed (its message was lost) is scheduled again")
		sent++
	}
	return sent, nil
}
