package volume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// errBackendCreate wraps a failure of the driver's create of a volume made from an image: the
// caller hands the volume back to the scheduler as any failed create.
var errBackendCreate = errors.New("backend create failed")

// createFromImage makes volume v (in creating, or in downloading when a recovery takes the
// create up again) from Glance image imageID, as Cinder's _create_from_image: a clone of the
// image by the backend (driver.ImageCloner) or of the image-volume cache when it can, else
// the driver's create, the volume in downloading, the image downloaded into
// image_conversion_dir, checked and written into the volume. It ends available and bootable
// with the image's metadata, or in error with a user message (its storage removed); never
// in creating or downloading. An error wrapping errBackendCreate is the driver's create
// failing (nothing made); any other error is a failure to write the database.
func (m *Manager) createFromImage(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, imageID string) error {
	start := time.Now()
	log = log.WithField("image_id", imageID)
	from := v.Status
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	p, made, err := m.makeFromImage(ctx, log, v, &dv, imageID)
	if errors.Is(err, errBackendCreate) {
		return err
	}
	if err != nil {
		if lost(err) {
			log.WithError(err).Warn("volume changed while it was made from an image")
			return nil
		}
		return m.failCreateFromImage(ctx, log, v, dv, made, imageID, err)
	}
	if err := m.finishImageCreate(ctx, log, v, dv, p); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"duration": time.Since(start).Round(time.Millisecond), "was": from}).Info("volume created from image")
	return nil
}

// makeFromImage does the work of createFromImage and returns the volume's driver data; made
// says whether storage was made for it (to remove on failure). dv gets the driver data.
func (m *Manager) makeFromImage(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv *driver.Volume, imageID string) (p resource.ProviderData, made bool, err error) {
	if m.Images == nil {
		return p, false, noImages()
	}
	a, err := m.glanceAuth(ctx)
	if err != nil {
		return p, false, err
	}
	img, err := m.Images.Glance.Show(ctx, a, imageID)
	if err != nil {
		return p, false, err
	}
	if err := checkImage(img, v.Size); err != nil {
		return p, false, err
	}
	if v.Status == resource.StatusCreating {
		if c, ok := m.Driver.(driver.ImageCloner); ok {
			d, ok, err := c.CloneImage(ctx, *dv, driverImage(img))
			if err != nil {
				// A clone that failed half way may have left storage: removed with the failure.
				return p, true, failImage(resource.DetailDriverFailedCreate, err, "The backend could not clone image %s.", img.ID)
			}
			if ok {
				p, err = providerData(d)
				dv.Data = d
				log.Info("image cloned by the backend")
				return p, true, err
			}
		}
		if p, hit, err := m.createFromImageCache(ctx, log, v, *dv, img); err != nil {
			log.WithError(err).Warn("image-volume cache failed; downloading the image")
		} else if hit {
			dv.Data = driverData(p)
			log.Info("volume cloned from the image-volume cache")
			return p, true, nil
		}
	}
	// As Cinder, a volume that will seed the image-volume cache is made at the image's size
	// and grown after it is cached, so that the cache's clone serves every later volume at
	// least as large as the image. A recovery (downloading) grows it too: the storage a
	// crash left may have that smaller size.
	ext, canGrow := m.Driver.(driver.Extender)
	seed := false
	if _, _, cache := m.imageCache(log); cache && canGrow && v.Status == resource.StatusCreating {
		if s := imageSizeGiB(img); s > 0 && s < dv.SizeGiB {
			dv.SizeGiB, seed = s, true
		}
	}
	d, err := m.Driver.Create(ctx, *dv)
	if err != nil {
		return p, false, fmt.Errorf("%w: %w", errBackendCreate, err)
	}
	dv.Data = d
	if p, err = providerData(d); err != nil {
		return p, true, err
	}
	if v.Status == resource.StatusCreating {
		// The storage, and that this is a create, are kept with the row before the long part:
		// a recovery finds both.
		ch := resource.VolumeChange{Status: resource.StatusDownloading, Provider: &p,
			AdminMetadata: map[string]*string{createFromImageKey: refOf(img.ID)}}
		if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, ch); err != nil {
			if errors.Is(err, resource.ErrNotFound) {
				m.removeStorage(ctx, log, *dv)
			}
			return p, true, err
		}
		v.Status = resource.StatusDownloading
		log.Info("volume downloading")
	}
	src, err := m.fetchImage(ctx, log, a, img, v.Size)
	defer removeTemp(log, src.Path)
	if err != nil {
		return p, true, err
	}
	if err := m.writeImage(ctx, *dv, src, false); err != nil {
		return p, true, err
	}
	log.WithField("format", src.Format).Info("image written into the volume")
	seedVol := *v
	seedVol.Size = dv.SizeGiB
	m.cacheImageVolume(ctx, log, &seedVol, *dv, img)
	if canGrow && (seed || v.Status == resource.StatusDownloading) && dv.SizeGiB <= v.Size {
		if err := ext.ExtendVolume(ctx, *dv, v.Size); err != nil {
			return p, true, failImage(resource.DetailDriverFailedExtend, err, "The volume made from image %s could not be grown to %dGB.", img.ID, v.Size)
		}
		dv.SizeGiB = v.Size
	}
	return p, true, nil
}

// finishImageCreate makes v, made from an image, available and bootable with driver data p,
// in one update from creating or downloading. A volume whose row went meanwhile has its
// storage removed; one that moved on (deleting) keeps it for its delete.
func (m *Manager) finishImageCreate(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv driver.Volume, p resource.ProviderData) error {
	ch := resource.VolumeChange{Status: resource.StatusAvailable, Provider: &p, Bootable: refOf(true),
		AdminMetadata: map[string]*string{createFromImageKey: nil}}
	_, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating, resource.StatusDownloading}, ch)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		m.removeStorage(ctx, log, dv)
		log.Warn("volume deleted while it was made from an image; the storage is removed")
		return nil
	case errors.Is(err, resource.ErrInvalidState):
		log.WithError(err).Warn("volume changed while it was made from an image")
		return nil
	case err != nil:
		return fmt.Errorf("mark volume %s available: %w", v.ID, err)
	}
	return nil
}

// failCreateFromImage sets v to error with a user message (copy image to volume) after the
// create from an image failed with cause, removing the storage made for it.
func (m *Manager) failCreateFromImage(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv driver.Volume, made bool, imageID string, cause error) error {
	f := asImageFailure(cause, imageID)
	log.WithError(cause).Error("could not create the volume from the image; volume set to error")
	ch := resource.VolumeChange{Status: resource.StatusError, AdminMetadata: map[string]*string{createFromImageKey: nil},
		Message: userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionCopyImageToVolume, f.detail, f.text)}
	if made {
		if err := m.deleteStorage(ctx, dv); err != nil {
			log.WithError(err).Error("could not remove the storage of the failed volume; its delete will")
		} else {
			ch.Provider = &resource.ProviderData{}
		}
	}
	_, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating, resource.StatusDownloading}, ch)
	if err != nil && !lost(err) {
		return fmt.Errorf("set volume %s to error: %w", v.ID, err)
	}
	return nil
}

// deleteStorage removes the storage of dv (unexported first, as a delete does).
func (m *Manager) deleteStorage(ctx context.Context, dv driver.Volume) error {
	if err := m.unexportForDelete(ctx, dv); err != nil {
		return err
	}
	return m.Driver.Delete(ctx, dv)
}

// removeStorage is deleteStorage logging a failure: the backend's reconciler reports what
// is left.
func (m *Manager) removeStorage(ctx context.Context, log logrus.FieldLogger, dv driver.Volume) {
	if err := m.deleteStorage(ctx, dv); err != nil {
		log.WithError(err).Error("could not remove the storage of a volume that is gone")
	}
}

// imageOfVolume returns the image id a volume in creating or downloading is being made
// from ("" for none): its image metadata's image_id, set with the row by the API. In
// downloading, only a create marks it (createFromImageKey): a re-image has no mark.
func (m *Manager) imageOfVolume(ctx context.Context, v *resource.Volume) (id string, reimage bool, err error) {
	if v.Status == resource.StatusDownloading {
		admin, err := m.Store.VolumeMetadata(ctx, resource.AdminMetadata, v.ID)
		if err != nil {
			return "", false, fmt.Errorf("admin metadata of volume %s: %w", v.ID, err)
		}
		if id := admin[createFromImageKey]; id != "" {
			return id, false, nil
		}
		return "", true, nil
	}
	md, err := m.Store.VolumeMetadata(ctx, resource.GlanceMetadata, v.ID)
	if err != nil {
		return "", false, fmt.Errorf("image metadata of volume %s: %w", v.ID, err)
	}
	return md["image_id"], false, nil
}

// recoverDownloading settles a volume a crash left in downloading: a create from an image
// is taken up again (createFromImage); a re-image goes to error with a message, as Cinder
// does (the volume's old data is partly overwritten, and the request that held the user's
// token is gone).
func (m *Manager) recoverDownloading(ctx context.Context, log logrus.FieldLogger, v *resource.Volume) error {
	imageID, reimage, err := m.imageOfVolume(ctx, v)
	if err != nil {
		return err
	}
	if !reimage {
		if err := m.createFromImage(ctx, log, v, imageID); err != nil {
			if !errors.Is(err, errBackendCreate) {
				return err
			}
			return m.failCreateFromImage(ctx, log, v, driver.Volume{}, false, imageID,
				failImage(resource.DetailDriverFailedCreate, err, ""))
		}
		log.Info("recovery: create from image finished")
		return nil
	}
	log.Error("recovery: a re-image was interrupted by a restart; volume set to error")
	ch := resource.VolumeChange{Status: resource.StatusError, Message: userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID,
		resource.ActionReimageVolume, resource.DetailUnknownError, "The re-image was interrupted by a restart of the volume service; re-image the volume again.")}
	if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusDownloading}, ch); err != nil && !lost(err) {
		return fmt.Errorf("set volume %s to error: %w", v.ID, err)
	}
	return nil
}

// imageSizeGiB is the smallest volume that holds img: its virtual size (the size of a raw
// image) in whole GiB, at least its min_disk and 1; 0 when Glance does not know it.
func imageSizeGiB(img *glance.Image) int {
	b := int64(-1)
	switch {
	case img.VirtualSize != nil:
		b = *img.VirtualSize
	case img.Size != nil && img.DiskFormat == "raw":
		b = *img.Size
	}
	if b < 0 {
		return 0
	}
	return max(int((b+driver.GiB-1)/driver.GiB), img.MinDisk, 1)
}
