package api

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// AttachmentSweeper resolves attachments that a crash or a vanished client left half done,
// so that no volume stays reserved, attaching or detaching for ever. Every Interval it takes
// the attachments not changed for Age:
//
//   - attaching or detaching: the connection is terminated on the volume's service (the
//     export removed when no other connection of the volume is left: the target state is
//     checked and cleaned by the service that owns it), then the attachment is deleted — an
//     attach is rolled back, a detach finished;
//   - reserved without an instance (nothing will ever connect it), or reserved with the
//     connector of a create whose connection never happened (the API died before
//     initialize_connection, or the volume service did not answer and the client got a 503
//     without the attachment's id): deleted. A reserved attachment of an instance without a
//     connector is Nova's (a shelved-offloaded server keeps one) and stays.
//
// A volume service that does not answer leaves the attachment for the next sweep. Volumes
// still reserved, attaching or detaching after that with nothing to explain it (the legacy
// os-reserve / os-begin_detaching left by a client) are settled from their attachments.
type AttachmentSweeper struct {
	Store       Store
	Connections Connections
	Log         logrus.FieldLogger
	Age         time.Duration // how long an attachment may stay pending (attachment_sweep_age)
	Interval    time.Duration // time between sweeps (attachment_sweep_interval)
	Now         func() time.Time
}

// Run sweeps every Interval until ctx ends.
func (sw *AttachmentSweeper) Run(ctx context.Context) {
	if sw.Interval <= 0 {
		sw.Interval = time.Minute
	}
	t := time.NewTicker(sw.Interval)
	defer t.Stop()
	for {
		sw.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep runs one sweep and returns how many attachments and volumes it resolved.
func (sw *AttachmentSweeper) Sweep(ctx context.Context) (attachments, volumes int) {
	now := time.Now
	if sw.Now != nil {
		now = sw.Now
	}
	age := sw.Age
	if age <= 0 {
		age = 10 * time.Minute
	}
	before := now().Add(-age)
	s := &server{store: sw.Store, conns: sw.Connections, log: sw.Log}
	ctx = reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), IsAdmin: true})
	log := reqctx.Log(ctx, sw.Log)
	stale, err := sw.Store.ListStaleAttachments(ctx, resource.PendingAttachStatuses, before)
	if err != nil {
		log.WithError(err).Error("attachment sweep: cannot list pending attachments")
		return 0, 0
	}
	for _, a := range stale {
		if a.AttachStatus == resource.AttachReserved && a.InstanceUUID != "" && len(a.Connector) == 0 {
			continue
		}
		alog := log.WithFields(logrus.Fields{"attachment_id": a.ID, "volume_id": a.VolumeID, "attach_status": a.AttachStatus})
		if err := s.detach(ctx, a, nil); err != nil {
			alog.WithError(err).Warn("attachment sweep: could not resolve the attachment; next sweep retries")
			continue
		}
		attachments++
		alog.Info("attachment sweep: stale attachment resolved")
	}
	vols, err := sw.Store.ListVolumesInStatus(ctx, []string{resource.StatusReserved, resource.StatusAttaching, resource.StatusDetaching}, before)
	if err != nil {
		log.WithError(err).Error("attachment sweep: cannot list pending volumes")
		return attachments, 0
	}
	for _, v := range vols {
		if err := sw.Store.SettleVolume(ctx, v.ID, []string{v.Status}); err != nil {
			log.WithError(err).WithField("volume_id", v.ID).Warn("attachment sweep: could not settle the volume")
			continue
		}
		volumes++
		log.WithFields(logrus.Fields{"volume_id": v.ID, "was": v.Status}).Info("attachment sweep: volume settled")
	}
	return attachments, volumes
}
