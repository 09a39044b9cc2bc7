package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/qemuimg"
)

// imageStore is what the image flows need of the database beyond Store's volume calls.
type imageStore interface {
	VolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string) (map[string]string, error)
}

// CopyVolumeToImage writes a volume in uploading into the Glance image the API made for it
// (os-volume_upload_image, Cinder's copy_volume_to_image): the volume read out in the asked
// disk format (by the driver when it is an ImageCopier, else with qemu-img from its local
// device; a raw image of a local device is streamed as it is), uploaded, and the volume put
// back (available, or in-use when attached) with UploadImageIDKey removed, in one update. A
// failure puts it back the same way with a user message, and deletes the image if Glance
// still holds it unfinished (queued or saving).
func (m *Manager) CopyVolumeToImage(ctx context.Context, args rpcapi.CopyVolumeToImageArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": args.VolumeID, "image_id": args.ImageID})
	defer m.locks.lock(args.VolumeID)()
	v, ok, err := m.volumes().load(ctx, log, rpcapi.CopyVolumeToImage, args.VolumeID, resource.StatusUploading)
	if !ok {
		return err
	}
	start := time.Now()
	var a glance.Auth
	n, err := m.upload(ctx, log, v, args, &a)
	if err != nil {
		f := asImageFailure(err, args.ImageID)
		f.detail = resource.DetailFailedToUploadVolume // as Cinder, whatever failed
		log.WithError(err).Error("could not upload the volume to the image; volume put back")
		if m.Images != nil {
			m.deleteUnfinishedImage(ctx, log, a, args.ImageID)
		}
		msg := userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionCopyVolumeToImage, f.detail, f.text)
		return m.endUpload(ctx, log, v, msg)
	}
	if err := m.endUpload(ctx, log, v, nil); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"bytes": n, "duration": time.Since(start).Round(time.Millisecond)}).Info("volume uploaded to image")
	return nil
}

// upload reads v out and uploads it to the image; a is set to who Glance is reached as.
func (m *Manager) upload(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, args rpcapi.CopyVolumeToImageArgs, a *glance.Auth) (int64, error) {
	if m.Images == nil {
		return 0, noImages()
	}
	var err error
	if *a, err = m.glanceAuth(ctx); err != nil {
		return 0, err
	}
	if args.ContainerFormat == "compressed" {
		return 0, failImage(resource.DetailFailedToUploadVolume, errors.New("container_format compressed"),
			"Uploading with container_format compressed is not supported.")
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return 0, err
	}
	format := qemuimg.FormatOf(args.DiskFormat)
	if format == "" {
		format = "raw"
	}
	copier, isCopier := m.Driver.(driver.ImageCopier)
	ld, isLocal := m.Driver.(driver.LocalDevice)
	switch {
	case !isCopier && isLocal && format == "raw":
		// No conversion: the device streamed as it is (Cinder's upload_volume).
		return m.uploadFile(ctx, *a, args.ImageID, ld.DevicePath(dv))
	case !isCopier && !isLocal:
		return 0, failImage(resource.DetailFailedToUploadVolume, errors.New("driver is neither an ImageCopier nor a LocalDevice"),
			"The backend cannot upload volumes to images.")
	}
	tmp, err := m.tempImage("upload-"+v.ID, args.ImageID, int64(v.Size)<<30)
	if err != nil {
		return 0, err
	}
	defer removeTemp(log, tmp)
	dst := driver.ImageFile{Path: tmp, Format: format}
	if isCopier {
		err = copier.CopyVolumeToImage(ctx, dv, dst)
	} else {
		err = qemuimg.Convert(ctx, driver.ImageFile{Path: ld.DevicePath(dv), Format: "raw"}, dst, qemuimg.Options{})
	}
	if err != nil {
		return 0, failImage(resource.DetailFailedToUploadVolume, err, "")
	}
	// As Cinder: the file must be what was asked, with no backing file.
	if _, err := qemuimg.CheckImage(ctx, tmp, args.DiskFormat); err != nil {
		return 0, failImage(resource.DetailFailedToUploadVolume, err, "")
	}
	log.WithField("format", format).Info("volume converted for upload")
	return m.uploadFile(ctx, *a, args.ImageID, tmp)
}

// uploadFile uploads the file or device at path as the data of image id.
func (m *Manager) uploadFile(ctx context.Context, a glance.Auth, id, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Seek(0, 2)
	if err == nil {
		_, err = f.Seek(0, 0)
	}
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", path, err)
	}
	if err := m.Images.Glance.Upload(ctx, a, id, f, size); err != nil {
		return 0, err
	}
	return size, nil
}

// deleteUnfinishedImage deletes image id if Glance holds it unfinished (queued, saving), as
// Cinder's _delete_image; a failure is logged.
func (m *Manager) deleteUnfinishedImage(ctx context.Context, log logrus.FieldLogger, a glance.Auth, id string) {
	log = log.WithField("image_id", id)
	img, err := m.Images.Glance.Show(ctx, a, id)
	if errors.Is(err, glance.ErrNotFound) {
		return
	}
	if err != nil {
		log.WithError(err).Warn("could not read the image of a failed upload; it is left")
		return
	}
	if img.Status != glance.StatusQueued && img.Status != glance.StatusSaving {
		return
	}
	if err := m.Images.Glance.Delete(ctx, a, id); err != nil && !errors.Is(err, glance.ErrNotFound) {
		log.WithError(err).Warn("could not delete the image of a failed upload; it is left")
		return
	}
	log.WithField("image_status", img.Status).Info("deleted the unfinished image of a failed upload")
}

// endUpload puts v, in uploading, back to in-use when attached else available (Cinder's
// volume_update_status_based_on_attachment), UploadImageIDKey removed and msg (if any)
// written, in one update.
func (m *Manager) endUpload(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, msg *resource.Message) error {
	status := resource.StatusAvailable
	if v.AttachStatus == resource.AttachAttached {
		status = resource.StatusInUse
	}
	ch := resource.VolumeChange{Status: status, Message: msg, AdminMetadata: map[string]*string{UploadImageIDKey: nil}}
	if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusUploading}, ch); err != nil {
		if lost(err) {
			log.WithError(err).Warn("volume changed while it was uploaded")
			return nil
		}
		return fmt.Errorf("put volume %s back to %s: %w", v.ID, status, err)
	}
	return nil
}

// recoverUploading settles a volume a crash left in uploading: its unfinished image (the
// admin metadata's UploadImageIDKey) deleted, and the volume put back with a user message.
func (m *Manager) recoverUploading(ctx context.Context, log logrus.FieldLogger, v *resource.Volume) error {
	admin, err := m.Store.VolumeMetadata(ctx, resource.AdminMetadata, v.ID)
	if err != nil {
		return fmt.Errorf("admin metadata of volume %s: %w", v.ID, err)
	}
	if id := admin[UploadImageIDKey]; id != "" && m.Images != nil {
		if a, err := m.glanceAuth(ctx); err != nil {
			log.WithError(err).Warn("recovery: could not authenticate to delete the unfinished image")
		} else {
			m.deleteUnfinishedImage(ctx, log, a, id)
		}
	}
	msg := userMessage(ctx, v.ProjectID, resource.MessageResourceVolume, v.ID, resource.ActionCopyVolumeToImage,
		resource.DetailFailedToUploadVolume, "The upload was interrupted by a restart of the volume service; upload the volume again.")
	if err := m.endUpload(ctx, log, v, msg); err != nil {
		return err
	}
	log.Info("recovery: interrupted upload ended; volume put back")
	return nil
}
