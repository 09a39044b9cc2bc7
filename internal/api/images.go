package api

// Volumes and Glance images, the API's side (issue 17): the image a create names (imageRef,
// image_id; a Nova snapshot image from 3.46) is read and checked before any row is written
// (images_create.go); os-volume_upload_image creates the Glance image and hands the copy to
// the volume's service, os-reimage (3.68) hands an image to write over a volume
// (images_actions.go). The volume services do the data work (internal/volume).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
)

// ImageService is what the API needs of the Image service (glance.Client): the image a
// create names, checked before anything is written, and the image an upload creates (and
// deletes again when the upload cannot start).
type ImageService interface {
	Show(ctx context.Context, a glance.Auth, id string) (*glance.Image, error)
	Create(ctx context.Context, a glance.Auth, r glance.CreateRequest) (*glance.Image, error)
	Delete(ctx context.Context, a glance.Auth, id string) error
}

// images is the API's Image service and its options.
type images struct {
	service        ImageService
	serviceToken   func(ctx context.Context) (string, error) // nil: none
	coreProperties []string                                  // glance_core_properties; nil: Cinder's default
	forceUpload    bool                                      // enable_force_upload
}

// Cinder's answers about images.
const (
	msgInvalidImageRef  = "Invalid image identifier or unable to access requested image."
	msgNoImageService   = "%s needs the Image service (Glance), which this Scoria API is not configured with."
	msgGlanceConnection = "Connection to glance failed: %s"
)

// imageAuth is who the API calls Glance as: the caller's Keystone token, else (auth_strategy
// noauth) the service user's token when one is configured, with the request id as the global
// request id. user reports whether the token is the caller's own.
func (s *server) imageAuth(ctx context.Context, what string) (a glance.Auth, user bool, err error) {
	if s.images.service == nil {
		return a, false, wire.BadRequest(msgNoImageService, what)
	}
	rc := reqctx.From(ctx)
	a = glance.Auth{Token: rc.AuthToken, GlobalRequestID: rc.RequestID}
	if a.Token != "" {
		return a, true, nil
	}
	if s.images.serviceToken != nil {
		tok, err := s.images.serviceToken(ctx)
		if err != nil {
			reqctx.Log(ctx, s.log).WithError(err).Warn("glance: no service token for a request without a user token")
			return a, false, wire.New(http.StatusServiceUnavailable, msgGlanceConnection, "the service user could not obtain a token")
		}
		a.Token = tok
	}
	return a, false, nil
}

// showImage reads image id for the caller. A call made without the caller's token (noauth)
// sees, as Cinder's _is_image_available, only what the caller could: an admin everything,
// others public or community images and those their project (or user) owns; any other image
// is glance.ErrNotFound.
func (s *server) showImage(ctx context.Context, id, what string) (*glance.Image, error) {
	a, user, err := s.imageAuth(ctx, what)
	if err != nil {
		return nil, err
	}
	img, err := s.images.service.Show(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !user && !imageVisible(reqctx.From(ctx), img) {
		return nil, &glance.Error{Op: "show image " + id, Status: http.StatusNotFound, Kind: glance.ErrNotFound}
	}
	return img, nil
}

// imageVisible is Cinder's _is_image_available for a request without a user token.
func imageVisible(rc reqctx.Context, img *glance.Image) bool {
	if rc.IsAdmin || img.Visibility == "public" || img.Visibility == "community" {
		return true
	}
	prop := func(k string) (string, bool) {
		v, ok := img.Properties[k]
		s, _ := v.(string)
		return s, ok
	}
	if owner, ok := prop("owner_id"); ok && rc.ProjectID != "" {
		return owner == rc.ProjectID
	}
	if owner, ok := prop("project_id"); ok && rc.ProjectID != "" {
		return owner == rc.ProjectID
	}
	if rc.ProjectID != "" && img.Owner == rc.ProjectID {
		return true
	}
	user, ok := prop("user_id")
	return ok && user == rc.UserID
}

// glanceFault answers a failure of Glance that is not about the image itself: unreachable,
// no endpoint, a 5xx or anything unexpected is a 503 in Cinder's words (its
// GlanceConnectionFailed), never a 500; a fault of the API's own (no image service, no service
// token) passes unchanged.
func glanceFault(ctx context.Context, s *server, err error) error {
	var f *wire.Fault
	if errors.As(err, &f) {
		return f
	}
	reqctx.Log(ctx, s.log).WithError(err).Warn("glance call failed")
	reason := err.Error()
	var ge *glance.Error
	if errors.As(err, &ge) {
		switch {
		case ge.Status != 0:
			reason = http.StatusText(ge.Status)
			if ge.Status == http.StatusRequestEntityTooLarge {
				return wire.New(http.StatusRequestEntityTooLarge, "Image quota exceeded")
			}
		case ge.Err != nil:
			reason = ge.Err.Error()
		default:
			reason = ge.Kind.Error()
		}
	}
	return wire.New(http.StatusServiceUnavailable, msgGlanceConnection, reason)
}

// imageNotVisible reports the errors of a show that mean the caller cannot use the image:
// it does not exist, is not visible, or the id is refused.
func imageNotVisible(err error) bool {
	return errors.Is(err, glance.ErrNotFound) || errors.Is(err, glance.ErrForbidden) || errors.Is(err, glance.ErrInvalid)
}

// gib is a GiB in bytes.
const gib = 1 << 30

// ceilGiB is bytes rounded up to whole GiB.
func ceilGiB(n int64) int64 { return (n + gib - 1) / gib }

// checkImageForVolume is Cinder's check_image_metadata: the image must be active, and a
// volume of size GiB must hold its data (size rounded up), its min_disk and its virtual size.
func checkImageForVolume(img *glance.Image, size int) *wire.Fault {
	if img.Status != glance.StatusActive {
		return wire.InvalidInput("Image %s is not active.", img.ID)
	}
	var bytes int64
	if img.Size != nil {
		bytes = *img.Size
	}
	if gb := ceilGiB(bytes); gb > int64(size) {
		return wire.InvalidInput("Size of specified image %dGB is larger than volume size %dGB.", gb, size)
	}
	if size < img.MinDisk {
		return wire.InvalidInput("Volume size %dGB cannot be smaller than the image minDisk size %dGB.", size, img.MinDisk)
	}
	if img.VirtualSize != nil && *img.VirtualSize > 0 {
		if gb := ceilGiB(*img.VirtualSize); gb > int64(size) {
			return wire.BadRequest("Image %s is unacceptable: Image virtual size is %dGB and doesn't fit in a volume of size %dGB.", img.ID, gb, size)
		}
	}
	return nil
}

// bootSnapshot is the boot volume snapshot of a Nova snapshot image (an instance booted from a
// volume, snapshotted by Nova): the block_device_mapping entry with source_type snapshot and
// boot_index 0, as Cinder's _get_image_snapshot finds it.
type bootSnapshot struct {
	SnapshotID string
	VolumeSize int
}

// novaBootSnapshot returns the image's boot volume snapshot, if it has one. Glance keeps
// block_device_mapping as a JSON string (Cinder decodes it); a list is taken as it is.
func novaBootSnapshot(img *glance.Image) (bootSnapshot, bool) {
	var bdms []map[string]any
	switch v := img.Properties["block_device_mapping"].(type) {
	case string:
		if err := json.Unmarshal([]byte(v), &bdms); err != nil {
			return bootSnapshot{}, false
		}
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				bdms = append(bdms, m)
			}
		}
	}
	for _, b := range bdms {
		idx, ok := b["boot_index"].(float64)
		if b["source_type"] != "snapshot" || !ok || idx != 0 {
			continue
		}
		id, _ := b["snapshot_id"].(string)
		size, _ := b["volume_size"].(float64)
		return bootSnapshot{SnapshotID: id, VolumeSize: int(size)}, true
	}
	return bootSnapshot{}, false
}

// reservedImageNamespaces are Cinder's GLANCE_RESERVED_NAMESPACES: properties with these
// prefixes are Glance's own and never copied to an uploaded image.
var reservedImageNamespaces = []string{"os_glance", "img_signature", "signature_verified"}

// uploadProperties are the properties an uploaded image gets from the volume's image
// metadata, as Cinder's _merge_volume_image_meta and filter_out_reserved_namespaces_metadata:
// every key but glance_core_properties, the keys the request sets itself (taken), and
// Glance's reserved namespaces.
func uploadProperties(md map[string]string, core []string, taken ...string) map[string]string {
	if len(core) == 0 {
		return nil // Cinder copies nothing when glance_core_properties is empty
	}
	out := map[string]string{}
next:
	for k, v := range md {
		for _, c := range core {
			if k == c {
				continue next
			}
		}
		for _, t := range taken {
			if k == t {
				continue next
			}
		}
		for _, ns := range reservedImageNamespaces {
			if strings.HasPrefix(k, ns) {
				continue next
			}
		}
		out[k] = v
	}
	return out
}
