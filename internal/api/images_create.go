package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// mvNovaImage is the microversion from which a Nova snapshot image (an instance booted from a
// volume, snapshotted by Nova: size 0, a block_device_mapping naming the boot volume's
// snapshot) makes a volume from that snapshot rather than from the image (Cinder's
// SUPPORT_NOVA_IMAGE).
var mvNovaImage = wire.Version{Major: 3, Minor: 46}

// imageVolumeTypeProperty is the image property that names the type of volumes made from the
// image when the request names none (Cinder's cinder_img_volume_type).
const imageVolumeTypeProperty = "cinder_img_volume_type"

// imageOfCreate resolves the image a create names (imageRef or image_id), as Cinder's
// controller does (_image_uuid_from_ref, _get_image_snapshot): the id is the last segment of
// the reference (Nova sends URLs), read from Glance with the caller's token. An image that
// does not exist or that the caller cannot see is Cinder's 400 "Invalid image identifier or
// unable to access requested image."; Glance unreachable a 503. From 3.46 a Nova snapshot
// image turns the create into a create from its boot volume's snapshot: req.snapshotID is set,
// src gets the snapshot, and no image is returned.
func (s *server) imageOfCreate(ctx context.Context, req *createRequest, src *sourceOf) (*glance.Image, *sourceOf, error) {
	if !req.imageGiven {
		return nil, src, nil
	}
	const what = "Creating a volume from an image (imageRef)"
	ref := req.imageRef
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	if !wire.IsUUIDLike(ref) {
		// Cinder then looks the reference up as an image name; Scoria takes ids only.
		if s.images.service == nil {
			return nil, nil, wire.BadRequest(msgNoImageService, what)
		}
		return nil, nil, wire.BadRequest(msgInvalidImageRef)
	}
	img, err := s.showImage(ctx, ref, what)
	switch {
	case imageNotVisible(err):
		reqctx.Log(ctx, s.log).WithError(err).WithField("image_id", ref).Info("volume create refused: image not found or not visible")
		return nil, nil, wire.BadRequest(msgInvalidImageRef)
	case err != nil:
		return nil, nil, glanceFault(ctx, s, err)
	}
	boot, nova := novaBootSnapshot(img)
	if !nova {
		return img, src, nil
	}
	sn, err := s.store.GetSnapshot(ctx, boot.SnapshotID)
	if rc := reqctx.From(ctx); err == nil && !rc.IsAdmin && sn.ProjectID != rc.ProjectID {
		err = resource.ErrNotFound
	}
	if errors.Is(err, resource.ErrNotFound) {
		return nil, nil, wire.NotFound("Nova specific image is found, but boot volume snapshot id:%s not found.", boot.SnapshotID)
	}
	if err != nil {
		return nil, nil, err
	}
	if !wire.VersionOf(ctx).AtLeast(mvNovaImage) {
		return img, src, nil // before 3.46 the image itself is the source, as in Cinder
	}
	req.snapshotID, req.imageRef, req.imageGiven = sn.ID, "", false
	src = &sourceOf{snapshot: sn}
	if v, err := s.store.GetVolume(ctx, sn.VolumeID); err == nil {
		src.volume = v
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"image_id": img.ID, "snapshot_id": sn.ID}).Info("Nova snapshot image: volume made from its boot volume snapshot")
	return nil, src, nil
}

// imageVolumeType is the type of a volume made from img when the request names none: the
// image's cinder_img_volume_type (a name or an id), else the default type.
func (s *server) imageVolumeType(ctx context.Context, img *glance.Image) (*resource.VolumeType, error) {
	name, _ := img.Properties[imageVolumeTypeProperty].(string)
	return s.resolveVolumeType(ctx, name)
}

// refuseEncryptedImage refuses a volume of an encrypted type made from an image: writing an
// image into an encrypted volume (and Cinder's cinder_encryption_key_id images) is not done
// by Scoria's volume services yet.
func (s *server) refuseEncryptedImage(ctx context.Context, vt *resource.VolumeType) error {
	_, err := s.store.GetVolumeTypeEncryption(ctx, vt.ID)
	switch {
	case errors.Is(err, resource.ErrEncryptionNotFound):
		return nil
	case err != nil:
		return err
	}
	return wire.New(http.StatusBadRequest, "Creating a volume of the encrypted volume type %s from an image is not supported by Scoria yet.", vt.Name)
}
