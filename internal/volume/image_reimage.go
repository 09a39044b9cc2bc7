package volume

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Reimage writes a Glance image over a volume in downloading (os-reimage, Cinder's
// reimage): the image checked, downloaded and written as for a create, every block written
// (Cinder's disable_sparse) and the rest of the volume cleared; then, in one update, the
// volume back to its previous status (as Cinder: whatever it was, error included), bootable,
// with the image's metadata in place of the old. A failure sets it to error with a user
// message (reimage volume); its storage stays.
func (m *Manager) Reimage(ctx context.Context, args rpcapi.ReimageArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": args.VolumeID, "image_id": args.ImageID})
	defer m.locks.lock(args.VolumeID)()
	v, ok, err := m.volumes().load(ctx, log, rpcapi.ReimageVolume, args.VolumeID, resource.StatusDownloading)
	if !ok {
		return err
	}
	start := time.Now()
	img, err := m.reimage(ctx, log, v, args.ImageID)
	if err != nil {
		f := asImageFailure(err, args.ImageID)
		log.WithError(err).Error("could not re-image the volume; volume set to error")
		ch := resource.VolumeChange{Status: resource.StatusError,
			Message: userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionReimageVolume, f.detail, f.text)}
		if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusDownloading}, ch); err != nil && !lost(err) {
			return fmt.Errorf("set volume %s to error: %w", v.ID, err)
		}
		return nil
	}
	back := args.PreviousStatus
	if back == "" {
		back = resource.StatusAvailable
	}
	ch := resource.VolumeChange{Status: back, Bootable: refOf(true), ImageMetadata: glance.VolumeImageMetadata(img)}
	if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusDownloading}, ch); err != nil {
		if lost(err) {
			log.WithError(err).Warn("volume changed while it was re-imaged")
			return nil
		}
		return fmt.Errorf("put volume %s back to %s: %w", v.ID, back, err)
	}
	log.WithFields(logrus.Fields{"status": back, "duration": time.Since(start).Round(time.Millisecond)}).Info("volume re-imaged")
	return nil
}

// reimage checks, downloads and writes image imageID over v and returns the image.
func (m *Manager) reimage(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, imageID string) (*glance.Image, error) {
	if m.Images == nil {
		return nil, noImages()
	}
	a, err := m.glanceAuth(ctx)
	if err != nil {
		return nil, err
	}
	img, err := m.Images.Glance.Show(ctx, a, imageID)
	if err != nil {
		return nil, err
	}
	if err := checkImage(img, v.Size); err != nil {
		return nil, err
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return nil, err
	}
	src, err := m.fetchImage(ctx, log, a, img, v.Size)
	defer removeTemp(log, src.Path)
	if err != nil {
		return nil, err
	}
	if err := m.writeImage(ctx, dv, src, true); err != nil {
		return nil, err
	}
	return img, nil
}
