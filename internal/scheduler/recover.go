package scheduler

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

// RecoveryStore is what Recover needs of the database.
type RecoveryStore interface {
	ListVolumesInStatus(ctx context.Context, statuses []string, updatedBefore time.Time) ([]*resource.Volume, error)
	// ListOutbox lists the pending outbox messages of method to topic.
	ListOutbox(ctx context.Context, topic, method string) ([]resource.OutboxMessage, error)
	GetVolumeType(ctx context.Context, id string) (*resource.VolumeType, error)
}

// Recover takes back, at start, the creates the API accepted that no scheduler finished: each
// volume still creating without a host, unchanged since before, whose create_volume is no
// longer in the outbox (its message was lost with a process, e.g. on the in-process bus, or
// dropped), is cast to the schedulers again. A volume whose message is still queued is placed
// only once, since the placement is a claim that requires the volume to have no host; its
// create_volume was built from the row (size, zone, type, source), without the scheduler
// hints of the original request, which only that message held. Groups left unplaced the
// same way are scheduled again too (recoverGroups); the count includes them.
func (s *Scheduler) Recover(ctx context.Context, st RecoveryStore, before time.Time) (int, error) {
	vols, err := st.ListVolumesInStatus(ctx, []string{resource.StatusCreating}, before)
	if err != nil {
		return 0, fmt.Errorf("list volumes in creating: %w", err)
	}
	var unplaced []*resource.Volume
	for _, v := range vols {
		if v.Host == "" {
			unplaced = append(unplaced, v)
		}
	}
	groups, err := s.recoverGroups(ctx, st, before)
	if err != nil {
		return groups, fmt.Errorf("recover groups: %w", err)
	}
	if len(unplaced) == 0 {
		return groups, nil
	}
	rows, err := st.ListOutbox(ctx, rpc.TopicScheduler, rpcapi.CreateVolume)
	if err != nil {
		return 0, err
	}
	pending := make(map[string]bool, len(rows))
	for _, m := range rows {
		var a rpcapi.CreateVolumeArgs
		if json.Unmarshal(m.Args, &a) == nil {
			pending[a.VolumeID] = true
		}
	}
	sent := groups
	for _, v := range unplaced {
		if pending[v.ID] {
			continue // the outbox relay sends it
		}
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: v.UserID, ProjectID: v.ProjectID})
		args := rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: v.Size, AvailabilityZone: v.AvailabilityZone,
			VolumeTypeID: v.VolumeTypeID, SnapshotID: v.SnapshotID, SourceVolID: v.SourceVolID}
		if v.VolumeTypeID != "" {
			vt, err := st.GetVolumeType(rctx, v.VolumeTypeID)
			switch {
			case err == nil:
				args.VolumeType = &rpcapi.VolumeTypeSpec{ID: vt.ID, Name: vt.Name, ExtraSpecs: vt.ExtraSpecs}
			case !errors.Is(err, resource.ErrNotFound):
				return sent, fmt.Errorf("load volume type %s of volume %s: %w", v.VolumeTypeID, v.ID, err)
			}
		}
		if err := s.Transport.Cast(rctx, rpcapi.SchedulerTarget(), rpcapi.CreateVolume, args); err != nil {
			return sent, fmt.Errorf("cast create_volume of volume %s again: %w", v.ID, err)
		}
		reqctx.Log(rctx, s.Log).WithFields(logrus.Fields{"volume_id": v.ID, "created_at": v.CreatedAt}).
			Warn("recovery: a create accepted but never placed (its message was lost) is scheduled again")
		sent++
	}
	return sent, nil
}
