package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Microversions of the image actions: os-volume_upload_image's visibility and protected
// (3.1), os-reimage (3.68).
var (
	mvUploadImageOptions = wire.Version{Major: 3, Minor: 1}
	mvReimage            = wire.Version{Major: 3, Minor: 68}
)

// Policy rules of the image actions, decided on the volume.
const (
	policyUploadImage     = "volume_extension:volume_actions:upload_image"
	policyUploadPublic    = "volume_extension:volume_actions:upload_public"
	policyReimage         = "volume:reimage"
	policyReimageReserved = "volume:reimage_reserved"
)

// Cinder's lists of os-volume_upload_image: the disk formats its schema accepts and the
// visibilities from 3.1.
var (
	uploadDiskFormats   = []string{"raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"}
	uploadVisibilities  = []string{"community", "public", "private", "shared"}
	msgEncryptedUpload  = "An encrypted volume uploaded as an image must use 'raw' disk_format and 'bare' container_format, which are the defaults for these options."
	msgCompressedUpload = "Image compression upload disallowed, but container_format is compressed"
)

// imageActions lists the image actions of POST /volumes/{id}/action.
func (s *server) imageActions() map[string]volumeAction {
	return map[string]volumeAction{
		"os-volume_upload_image": s.uploadImage,
		"os-reimage":             s.reimageVolume,
	}
}

// uploadRequest is a validated os-volume_upload_image argument.
type uploadRequest struct {
	name, diskFormat, containerFormat string
	force                             bool
	visibility                        string // 3.1; "" before (Glance's default)
	protected                         *bool  // 3.1
}

// parseUploadImage validates the argument of os-volume_upload_image against Cinder's schema
// of microversion mv (volume_upload_image, _v31). As jsonschema's best match, a fault of the
// action's object (a missing image_name, an unknown key) comes before a fault of a value.
func parseUploadImage(args any, mv wire.Version) (uploadRequest, *wire.Fault) {
	const action = "os-volume_upload_image"
	req := uploadRequest{diskFormat: "raw", containerFormat: "bare"}
	o, f := wire.RequireObject(action, args)
	if f != nil {
		return req, f
	}
	allowed := []string{"image_name", "force", "disk_format", "container_format"}
	v31 := mv.AtLeast(mvUploadImageOptions)
	if v31 {
		allowed = append(allowed, "visibility", "protected")
	}
	if !o.Has("image_name") {
		return req, wire.SchemaError(action, o, "'image_name' is a required property")
	}
	if f := wire.CheckAdditional(action, o, allowed...); f != nil {
		return req, f
	}
	enum := func(field string, v any, values []string) (string, *wire.Fault) {
		if f := wire.CheckType(field, v, "string"); f != nil {
			return "", f
		}
		s := v.(string)
		if !slices.Contains(values, s) {
			quoted := make([]string, len(values))
			for i, x := range values {
				quoted[i] = wire.PyStrRepr(x)
			}
			return "", wire.SchemaError(field, v, wire.PyRepr(v)+" is not one of ["+strings.Join(quoted, ", ")+"]")
		}
		return s, nil
	}
	for _, k := range allowed {
		v, ok := o.Get(k)
		if !ok {
			continue
		}
		switch k {
		case "image_name":
			if f := wire.CheckType(k, v, "string"); f != nil {
				return req, f
			}
			if f := wire.CheckLength(k, v.(string), 1, 255); f != nil {
				return req, f
			}
			req.name = v.(string)
		case "force":
			if req.force, f = checkBoolean(k, v); f != nil {
				return req, f
			}
		case "disk_format":
			if req.diskFormat, f = enum(k, v, uploadDiskFormats); f != nil {
				return req, f
			}
		case "container_format":
			if f := wire.CheckNullableString(k, v, 0, 255); f != nil {
				return req, f
			}
			if s, _ := v.(string); s != "" {
				req.containerFormat = s
			}
		case "visibility":
			if req.visibility, f = enum(k, v, uploadVisibilities); f != nil {
				return req, f
			}
		case "protected":
			p, f := checkBoolean(k, v)
			if f != nil {
				return req, f
			}
			req.protected = &p
		}
	}
	if v31 {
		// As Cinder from 3.1: private and unprotected unless asked.
		if req.visibility == "" {
			req.visibility = "private"
		}
		if req.protected == nil {
			req.protected = new(bool)
		}
	}
	return req, nil
}

// uploadImage is os-volume_upload_image: as Cinder's copy_volume_to_image, the Glance image is
// created (queued, with the volume's image metadata as properties but glance_core_properties),
// then one transaction moves the volume to uploading, records the image in its admin metadata
// and writes the copy_volume_to_image cast to its volume service. If the volume's status
// changed meanwhile the image is deleted again. An in-use volume needs force and
// enable_force_upload.
func (s *server) uploadImage(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	mv := wire.VersionOf(ctx)
	req, f := parseUploadImage(args, mv)
	if f != nil {
		return f
	}
	deferRule(r, policyUploadImage)
	vol, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	if vol.EncryptionKeyID != "" {
		if req.diskFormat != "raw" || req.containerFormat != "bare" {
			return wire.BadRequest("%s", msgEncryptedUpload)
		}
		return wire.BadRequest(msgNotSupportedYet, "Uploading an encrypted volume to an image (os-volume_upload_image)")
	}
	if req.visibility == "public" {
		if f := authorizeIn(ctx, policyUploadPublic, vol.ProjectID); f != nil {
			return f
		}
	}
	log := reqctx.Log(ctx, s.log).WithField("volume_id", vol.ID)
	force := req.force
	if force && !s.images.forceUpload {
		log.Info("Force upload to image is disabled, Force option will be ignored.")
		force = false
	}
	from := []string{resource.StatusAvailable}
	if force {
		from = append(from, resource.StatusInUse)
	}
	stateFault := func() *wire.Fault {
		return wire.BadRequest("Invalid volume: Volume %s status must be %s", vol.ID, strings.Join(from, " or "))
	}
	if !slices.Contains(from, vol.Status) || vol.Host == "" {
		return stateFault()
	}
	if req.containerFormat == "compressed" {
		return wire.BadRequest("%s", msgCompressedUpload)
	}
	const what = "Uploading a volume to an image (os-volume_upload_image)"
	a, _, err := s.imageAuth(ctx, what)
	if err != nil {
		return err
	}
	md, err := s.store.VolumeMetadata(ctx, resource.GlanceMetadata, vol.ID)
	if err != nil {
		return wire.NotFoundAs(err, "Volume", vol.ID)
	}
	core := s.images.coreProperties
	if core == nil {
		core = config.DefaultGlanceCoreProperties
	}
	taken := []string{"container_format", "disk_format", "name"}
	if mv.AtLeast(mvUploadImageOptions) {
		taken = append(taken, "visibility", "protected")
	}
	img, err := s.images.service.Create(ctx, a, glance.CreateRequest{
		Name: req.name, DiskFormat: req.diskFormat, ContainerFormat: req.containerFormat,
		Visibility: req.visibility, Protected: req.protected, Properties: uploadProperties(md, core, taken...),
	})
	if err != nil {
		return imageCreateFault(ctx, s, err)
	}
	// The image exists: from here on a client that goes away must not leave it behind.
	ctx = context.WithoutCancel(ctx)
	log = log.WithField("image_id", img.ID)
	undo := func(why string) {
		if err := s.images.service.Delete(ctx, a, img.ID); err != nil {
			log.WithError(err).Warn("upload to image not started (" + why + "), and its queued image could not be deleted")
			return
		}
		log.Info("upload to image not started (" + why + "): its queued image deleted")
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(vol.Host), rpcapi.CopyVolumeToImage, rpcapi.CopyVolumeToImageArgs{
		VolumeID: vol.ID, ImageID: img.ID, DiskFormat: img.DiskFormat, ContainerFormat: img.ContainerFormat, PreviousStatus: vol.Status,
	})
	if err != nil {
		undo("no message")
		return err
	}
	imageID := img.ID
	msgs, err := s.store.TransitionVolume(ctx, vol.ID, []string{vol.Status}, resource.VolumeChange{
		Status: resource.StatusUploading, AdminMetadata: map[string]*string{resource.AdminKeyUploadImage: &imageID},
	}, msg)
	if err != nil {
		var ise *resource.InvalidStateError
		if errors.As(err, &ise) {
			undo("the volume's status changed to " + ise.Status)
			return stateFault()
		}
		undo("the volume could not be moved to uploading")
		return wire.NotFoundAs(err, "Volume", vol.ID)
	}
	s.dispatch(ctx, msgs)
	log.WithFields(map[string]any{"disk_format": img.DiskFormat, "container_format": img.ContainerFormat, "previous_status": vol.Status}).
		Info("volume upload to image accepted")

	var volType any
	if vt, err := s.store.GetVolumeType(ctx, vol.VolumeTypeID); err == nil {
		volType = showTypeView(newViewer(r), vt, false)
	}
	var name any
	if img.Name != "" {
		name = img.Name
	}
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"os-volume_upload_image": map[string]any{
		"id":                  vol.ID,
		"updated_at":          timestamp(s.now().UTC()),
		"status":              resource.StatusUploading,
		"display_description": nullable(vol.Description),
		"size":                vol.Size,
		"volume_type":         volType,
		"image_id":            img.ID,
		"container_format":    img.ContainerFormat,
		"disk_format":         img.DiskFormat,
		"image_name":          name,
		"protected":           img.Protected,
		"visibility":          img.Visibility,
	}})
	return nil
}

// imageCreateFault answers Glance's refusal of an image create as Cinder's upload does (a 400
// with the reason), a quota refusal as 413, and Glance unreachable as 503.
func imageCreateFault(ctx context.Context, s *server, err error) error {
	var ge *glance.Error
	if errors.As(err, &ge) && (errors.Is(err, glance.ErrInvalid) || errors.Is(err, glance.ErrForbidden) || errors.Is(err, glance.ErrConflict)) {
		reqctx.Log(ctx, s.log).WithError(err).Info("upload to image refused by Glance")
		msg := ge.Message
		if msg == "" {
			msg = http.StatusText(ge.Status)
		}
		return wire.BadRequest("Glance refused to create the image: %s", msg)
	}
	return glanceFault(ctx, s, err)
}

// reimageRequest is a validated os-reimage argument.
type reimageRequest struct {
	imageID  string
	reserved bool
}

// parseReimage validates the argument of os-reimage against Cinder's schema (reimage).
func parseReimage(args any) (reimageRequest, *wire.Fault) {
	const action = "os-reimage"
	var req reimageRequest
	o, f := wire.RequireObject(action, args)
	if f != nil {
		return req, f
	}
	if !o.Has("image_id") {
		return req, wire.SchemaError(action, o, "'image_id' is a required property")
	}
	if f := wire.CheckAdditional(action, o, "image_id", "reimage_reserved"); f != nil {
		return req, f
	}
	v, _ := o.Get("image_id")
	if f := wire.CheckType("image_id", v, "string"); f != nil {
		return req, f
	}
	if !wire.IsUUIDLike(v.(string)) {
		return req, wire.SchemaError("image_id", v, wire.PyRepr(v)+" is not a 'uuid'")
	}
	req.imageID = v.(string)
	if v, ok := o.Get("reimage_reserved"); ok {
		if req.reserved, f = checkBoolean("reimage_reserved", v); f != nil {
			return req, f
		}
	}
	return req, nil
}

// reimageVolume is os-reimage (3.68): write a Glance image over an available or error volume
// (a reserved one with reimage_reserved, as Nova rebuilds a volume-backed instance). As
// Cinder's reimage, the image is read and checked against the volume (active, its size,
// virtual size and min_disk fit), then one transaction moves the volume to downloading and
// writes the reimage cast to its volume service.
func (s *server) reimageVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	if !wire.VersionOf(ctx).AtLeast(mvReimage) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	req, f := parseReimage(args)
	if f != nil {
		return f
	}
	// Cinder decides volume:reimage_reserved for a reserved volume, volume:reimage otherwise;
	// a read that does not find the volume decides the plain rule.
	deferRule(r, policyReimage)
	if v, err := s.store.GetVolume(ctx, id); err == nil && v.Status == resource.StatusReserved {
		deferRule(r, policyReimageReserved)
	}
	vol, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	const what = "Reimaging a volume (os-reimage)"
	img, err := s.showImage(ctx, req.imageID, what)
	switch {
	case errors.Is(err, glance.ErrNotFound), errors.Is(err, glance.ErrInvalid):
		return wire.NotFound("Image %s could not be found.", req.imageID)
	case errors.Is(err, glance.ErrForbidden):
		return wire.New(http.StatusForbidden, "Not authorized for image %s.", req.imageID)
	case err != nil:
		return glanceFault(ctx, s, err)
	}
	if boot, ok := novaBootSnapshot(img); ok {
		if boot.VolumeSize > vol.Size {
			return wire.BadRequest("Volume size must be greater than the image size. (Image: %d, Volume: %d).", boot.VolumeSize, vol.Size)
		}
		return wire.BadRequest(msgNotSupportedYet, "Reimaging a volume from a Nova snapshot image (block_device_mapping)")
	}
	if vol.View != nil && len(vol.View.Attachments) > 1 {
		return wire.New(http.StatusConflict, "Cannot re-image a volume which is attached to more than one server.")
	}
	from := []string{resource.StatusAvailable, resource.StatusError}
	if req.reserved {
		from = append(from, resource.StatusReserved)
	}
	stateFault := func(status string) *wire.Fault {
		return wire.BadRequest("Invalid volume: Volume %s status must be %s, but current status is %s.", vol.ID, strings.Join(from, " or "), status)
	}
	if !slices.Contains(from, vol.Status) {
		return stateFault(vol.Status)
	}
	if f := checkImageForVolume(img, vol.Size); f != nil {
		return f
	}
	if vol.EncryptionKeyID != "" {
		return wire.BadRequest(msgNotSupportedYet, "Reimaging an encrypted volume (os-reimage)")
	}
	if vol.Host == "" {
		return stateFault(vol.Status)
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpcapi.VolumeTarget(vol.Host), rpcapi.ReimageVolume,
		rpcapi.ReimageArgs{VolumeID: vol.ID, ImageID: img.ID, PreviousStatus: vol.Status})
	if err != nil {
		return err
	}
	msgs, err := s.store.TransitionVolume(ctx, vol.ID, []string{vol.Status}, resource.VolumeChange{Status: resource.StatusDownloading}, msg)
	var ise *resource.InvalidStateError
	switch {
	case errors.As(err, &ise):
		return stateFault(ise.Status)
	case err != nil:
		return wire.NotFoundAs(err, "Volume", vol.ID)
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": vol.ID, "image_id": img.ID, "previous_status": vol.Status}).
		Info("volume reimage accepted")
	wire.WriteAccepted(w)
	return nil
}
