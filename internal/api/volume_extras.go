package api

// Volume metadata, admin metadata, image metadata, the admin actions (os-reset_status,
// os-force_delete) and the flag actions (os-set_bootable, os-update_readonly_flag) of
// volumes, and GET /resource_filters.

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/messages"
	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// volumeExtraStore is what this area needs of the database.
type volumeExtraStore interface {
	// CountVolumesMatching counts what ListVolumes would list without marker, limit, offset.
	CountVolumesMatching(ctx context.Context, f resource.VolumeFilter) (int, error)
	VolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string) (map[string]string, error)
	VolumesMetadata(ctx context.Context, kind resource.MetadataKind, ids []string, keys ...string) (map[string]map[string]string, error)
	UpdateVolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string, md map[string]string, replace bool, rule resource.VolumeStatusRule) (map[string]string, error)
	DeleteVolumeMetadataKey(ctx context.Context, kind resource.MetadataKind, id, key string, rule resource.VolumeStatusRule) error
	SetVolumeBootable(ctx context.Context, id string, bootable bool, rule resource.VolumeStatusRule) error
	ResetVolumeState(ctx context.Context, id string, r resource.VolumeReset) error
}

// Policy rules of this area's admin-only actions, named as in Cinder's policy.
const (
	policyResetStatus = "volume_extension:volume_admin_actions:reset_status"
	policyForceDelete = "volume_extension:volume_admin_actions:force_delete"
	// policyVolumeForceDelete is DELETE /volumes/{id}?force=true (3.23).
	policyVolumeForceDelete = "volume:force_delete"
)

// Statuses in which Cinder refuses changes to a volume's metadata (and, for maintenance, any
// update).
var (
	metadataLockedStatuses = []string{resource.StatusMaintenance, "uploading"}
	updateLockedStatuses   = []string{resource.StatusMaintenance}
)

// volumeExtraRoutes registers this area's routes.
func (s *server) volumeExtraRoutes(api route) {
	api("/volumes/{volume_id}/metadata", http.MethodGet, s.showVolumeMetadata)
	api("/volumes/{volume_id}/metadata", http.MethodPost, s.createVolumeMetadata)
	api("/volumes/{volume_id}/metadata", http.MethodPut, s.replaceVolumeMetadata)
	api("/volumes/{volume_id}/metadata/{key}", http.MethodGet, s.showVolumeMetadataItem)
	api("/volumes/{volume_id}/metadata/{key}", http.MethodPut, s.updateVolumeMetadataItem)
	api("/volumes/{volume_id}/metadata/{key}", http.MethodDelete, s.deleteVolumeMetadataItem)
	api("/resource_filters", http.MethodGet, s.listResourceFilters)
}

// extraVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) extraVolumeActions() map[string]volumeAction {
	return map[string]volumeAction{
		"os-reset_status":         s.resetVolumeStatus,
		"os-force_delete":         s.forceDeleteVolume,
		"os-set_bootable":         s.setVolumeBootable,
		"os-update_readonly_flag": s.updateReadonlyFlag,
		"os-set_image_metadata":   s.setImageMetadata,
		"os-unset_image_metadata": s.unsetImageMetadata,
		"os-show_image_metadata":  s.showImageMetadata,
	}
}

// volumeDetails builds the detailed views of vols with what the volume row does not hold:
// the admin metadata Cinder shows among the metadata (readonly, attached_mode) and, with
// withExtensions, the extension attributes (viewer.detail) and volume_image_metadata when
// volume_image_metadata:show allows (on show and detail list; on a list every volume gets
// it as soon as one has image metadata, as Cinder's extension does).
func (s *server) volumeDetails(ctx context.Context, vw viewer, vols []*resource.Volume, withExtensions bool) ([]volumeDetail, error) {
	out := make([]volumeDetail, len(vols))
	if len(vols) == 0 {
		return out, nil
	}
	admin, attachments, glance, err := s.volumesViewData(ctx, vols, withExtensions && vw.may(ruleVolumeImageMetadata))
	if err != nil {
		return nil, err
	}
	for i, v := range vols {
		if am := admin[v.ID]; len(am) > 0 {
			cp := *v
			cp.Metadata = make(map[string]string, len(v.Metadata)+len(am))
			for k, val := range v.Metadata {
				cp.Metadata[k] = val
			}
			for k, val := range am {
				cp.Metadata[k] = val
			}
			v = &cp
		}
		out[i] = vw.detail(v, withExtensions)
		out[i].Attachments = volumeAttachmentViews(attachments[v.ID])
		if len(glance) > 0 {
			gm := glance[v.ID]
			if gm == nil {
				gm = map[string]string{}
			}
			out[i].VolumeImageMetadata = some(gm)
		}
	}
	return out, nil
}

// volumesViewData returns what the views of vols show beside their rows: visible admin
// metadata, attached attachments and (withGlance) image metadata, by volume id. A volume
// read with its view data (GetVolumeForView) brings them along; the others cost one query
// each for all of vols.
func (s *server) volumesViewData(ctx context.Context, vols []*resource.Volume, withGlance bool) (admin map[string]map[string]string, attachments map[string][]*resource.Attachment, glance map[string]map[string]string, err error) {
	admin, attachments = map[string]map[string]string{}, map[string][]*resource.Attachment{}
	if withGlance {
		glance = map[string]map[string]string{}
	}
	var ids []string
	for _, v := range vols {
		if v.View == nil {
			ids = append(ids, v.ID)
			continue
		}
		admin[v.ID], attachments[v.ID] = v.View.AdminMetadata, v.View.Attachments
		if withGlance && len(v.View.GlanceMetadata) > 0 {
			glance[v.ID] = v.View.GlanceMetadata
		}
	}
	if len(ids) == 0 {
		return admin, attachments, glance, nil
	}
	am, err := s.store.VolumesMetadata(ctx, resource.AdminMetadata, ids, resource.VisibleAdminMetadataKeys...)
	if err != nil {
		return nil, nil, nil, err
	}
	at, err := s.store.VolumesAttachments(ctx, ids, resource.AttachAttached)
	if err != nil {
		return nil, nil, nil, err
	}
	maps.Copy(admin, am)
	maps.Copy(attachments, at)
	if withGlance {
		gm, err := s.store.VolumesMetadata(ctx, resource.GlanceMetadata, ids)
		if err != nil {
			return nil, nil, nil, err
		}
		maps.Copy(glance, gm)
	}
	return admin, attachments, glance, nil
}

// volumeView is the detailed view of one volume; withExtensions as for viewer.detail (show),
// which also brings volume_image_metadata.
func (s *server) volumeView(r *http.Request, v *resource.Volume, withExtensions bool) (volumeDetail, error) {
	d, err := s.volumeDetails(r.Context(), newViewer(r), []*resource.Volume{v}, withExtensions)
	if err != nil {
		return volumeDetail{}, err
	}
	return d[0], nil
}

// writeVolume answers one volume's detailed view.
func (s *server) writeVolume(w http.ResponseWriter, r *http.Request, status int, v *resource.Volume, withExtensions bool) error {
	d, err := s.volumeView(r, v, withExtensions)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, status, map[string]any{"volume": d})
	return nil
}

// writeEmpty answers status with an empty body, as Cinder's actions that return nothing.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// volumeStatuses are Cinder's VolumeStatus.ALL, the statuses os-reset_status accepts, in
// Cinder's order (its message lists them).
var volumeStatuses = []string{"creating", "available", "deleting", "error", "error_deleting",
	"error_managing", "managing", "attaching", "in-use", "detaching", "maintenance",
	"restoring-backup", "error_restoring", "reserved", "awaiting-transfer", "backing-up",
	"error_backing-up", "error_extending", "downloading", "uploading", "retyping", "extending"}

var (
	attachStatuses    = []string{"attached", "detached"}
	migrationStatuses = []string{"migrating", "error", "success", "completing", "none", "starting"}
)

// pyTuple renders names as a Python tuple of strings; pyList as a list.
func pyTuple(names []string) string { return "(" + pyStrings(names) + ")" }
func pyList(names []string) string  { return "[" + pyStrings(names) + "]" }

func pyStrings(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = wire.PyStrRepr(n)
	}
	return strings.Join(parts, ", ")
}

// parseResetStatus validates os-reset_status's argument as Cinder's reset schema and its
// format checkers do.
func parseResetStatus(args any) (resource.VolumeReset, *wire.Fault) {
	var out resource.VolumeReset
	const field = "os-reset_status"
	o, f := wire.RequireObject(field, args)
	if f != nil {
		return out, f
	}
	truthy := func(k string) bool { return pyTruthy(o.Vals[k]) }
	if !truthy("status") && !truthy("attach_status") && !truthy("migration_status") {
		return out, wire.BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for update.")
	}
	for _, k := range []string{"status", "attach_status", "migration_status"} {
		v, ok := o.Get(k)
		if !ok {
			continue
		}
		if f := wire.CheckType(k, v, "string", "null"); f != nil {
			return out, f
		}
		sv, _ := v.(string)
		if sv == "" {
			continue
		}
		l := strings.ToLower(sv)
		switch k {
		case "status":
			if !slices.Contains(volumeStatuses, l) {
				return out, wire.BadRequest("Volume status: %s is invalid, valid statuses are: %s.", sv, pyTuple(volumeStatuses))
			}
			out.Status = l
		case "attach_status":
			if !slices.Contains(attachStatuses, l) {
				return out, wire.BadRequest("Volume attach status: %s is invalid, valid statuses are: %s.", sv, pyList(attachStatuses))
			}
			out.AttachStatus = l
		case "migration_status":
			// Scoria does not migrate volumes: every migration status is none, and a reset of
			// it is accepted and has nothing to change.
			if !slices.Contains(migrationStatuses, l) {
				return out, wire.BadRequest("Volume migration status: %s is invalid, valid statuses are: %s.", sv, pyTuple(migrationStatuses))
			}
		}
	}
	if f := wire.CheckAdditional(field, o, "status", "attach_status", "migration_status"); f != nil {
		return out, f
	}
	return out, nil
}

// pyTruthy is Python's truth of a decoded JSON value.
func pyTruthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case json.Number:
		f, err := t.Float64()
		return err != nil || f != 0
	case []any:
		return len(t) > 0
	case *wire.Object:
		return len(t.Keys) > 0
	}
	return true
}

// resetVolumeStatus is os-reset_status (admin): set status and/or attach status, whatever
// they are now.
func (s *server) resetVolumeStatus(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	reset, f := parseResetStatus(args)
	if f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	if reset.Status != "" || reset.AttachStatus != "" {
		if err := s.store.ResetVolumeState(ctx, id, reset); err != nil {
			return wire.NotFoundAs(err, "Volume", id)
		}
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": id, "status": reset.Status, "attach_status": reset.AttachStatus}).Info("volume state reset")
	wire.WriteAccepted(w)
	return nil
}

// forceDeleteVolume is os-force_delete (admin): the delete of DELETE /volumes/{id}?force=true.
func (s *server) forceDeleteVolume(w http.ResponseWriter, r *http.Request, id string, _ any) error {
	ctx := r.Context()
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deleteVolumeFrom(ctx, v, forceDeletableStatuses); err != nil {
		return &wire.ActionError{Action: "force-delete", Err: err}
	}
	s.deleteVolumeKey(r, v)
	reqctx.Log(ctx, s.log).WithField("volume_id", id).Info("volume force-delete accepted")
	wire.WriteAccepted(w)
	return nil
}

// schemaBooleans is the enum of Cinder's parameter_types.boolean, in its order.
var schemaBooleans = []any{true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
	false, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"}

// parseFlagAction validates {"<action>": {"<flag>": boolean}} as Cinder's set_bootable and
// volume_readonly_update schemas do, and returns the flag.
func parseFlagAction(action, flag string, args any) (bool, *wire.Fault) {
	o, f := wire.RequireObject(action, args)
	if f != nil {
		return false, f
	}
	if v, ok := o.Get(flag); ok {
		if f := wire.CheckType(flag, v, "boolean", "string"); f != nil {
			return false, f
		}
		found := false
		for _, b := range schemaBooleans {
			if b == v {
				found = true
			}
		}
		if !found {
			parts := make([]string, len(schemaBooleans))
			for i, b := range schemaBooleans {
				parts[i] = wire.PyRepr(b)
			}
			return false, wire.SchemaError(flag, v, wire.PyRepr(v)+" is not one of ["+strings.Join(parts, ", ")+"]")
		}
	} else {
		return false, wire.SchemaError(action, o, wire.PyStrRepr(flag)+" is a required property")
	}
	if f := wire.CheckAdditional(action, o, flag); f != nil {
		return false, f
	}
	switch v := o.Vals[flag].(type) {
	case bool:
		return v, nil
	case string:
		return wire.IsTrue(strings.ToLower(v)), nil
	}
	return false, nil
}

// setVolumeBootable is os-set_bootable: 200 with no body, as Cinder.
func (s *server) setVolumeBootable(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	bootable, f := parseFlagAction("os-set_bootable", "bootable", args)
	if f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	err := s.store.SetVolumeBootable(ctx, id, bootable, resource.VolumeStatusRule{Not: updateLockedStatuses})
	if errors.Is(err, resource.ErrInvalidState) {
		err = wire.BadRequest("Invalid volume: The volume cannot be updated during maintenance.")
	}
	if err != nil {
		return wire.NotFoundAs(err, "Volume", id)
	}
	writeEmpty(w, http.StatusOK)
	return nil
}

// updateReadonlyFlag is os-update_readonly_flag: the admin metadata "readonly" becomes
// "True" or "False"; the volume must be available.
func (s *server) updateReadonlyFlag(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	readonly, f := parseFlagAction("os-update_readonly_flag", "readonly", args)
	if f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	value := "False"
	if readonly {
		value = "True"
	}
	_, err := s.store.UpdateVolumeMetadata(ctx, resource.AdminMetadata, id, map[string]string{"readonly": value}, false,
		resource.VolumeStatusRule{Only: []string{resource.StatusAvailable}})
	var ise *resource.InvalidStateError
	if errors.As(err, &ise) {
		err = wire.BadRequest("Invalid volume: Volume %s status must be available to update readonly flag, but current status is: %s.", id, ise.Status)
	}
	if err != nil {
		return wire.NotFoundAs(err, "Volume", id)
	}
	wire.WriteAccepted(w)
	return nil
}

// metadataStateError words a metadata change refused by the volume's status as Cinder does.
func metadataStateError(err error, verb string) error {
	var ise *resource.InvalidStateError
	if errors.As(err, &ise) {
		return wire.BadRequest("Invalid volume: %s volume metadata is not allowed for volumes in %s status.", verb, ise.Status)
	}
	return err
}

// setImageMetadata is os-set_image_metadata: merge into the volume's image metadata and
// answer all of it.
func (s *server) setImageMetadata(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	const action = "os-set_image_metadata"
	o, f := wire.RequireObject(action, args)
	if f != nil {
		return f
	}
	v, ok := o.Get("metadata")
	if !ok {
		return wire.SchemaError(action, o, "'metadata' is a required property")
	}
	md, f := wire.CheckMetadata("metadata", v, false)
	if f != nil {
		return f
	}
	if f := wire.CheckAdditional(action, o, "metadata"); f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	all, err := s.store.UpdateVolumeMetadata(ctx, resource.GlanceMetadata, id, md, false, resource.VolumeStatusRule{Not: metadataLockedStatuses})
	if err != nil {
		return wire.NotFoundAs(metadataStateError(err, "Updating"), "Volume", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"metadata": all})
	return nil
}

// unsetImageMetadata is os-unset_image_metadata: remove one key of the image metadata.
func (s *server) unsetImageMetadata(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	const action = "os-unset_image_metadata"
	o, f := wire.RequireObject(action, args)
	if f != nil {
		return f
	}
	v, ok := o.Get("key")
	if !ok {
		return wire.SchemaError(action, o, "'key' is a required property")
	}
	if f := wire.CheckType("key", v, "string"); f != nil {
		return f
	}
	key := v.(string)
	if f := wire.CheckLength("key", key, 1, 255); f != nil {
		return f
	}
	if f := wire.CheckAdditional(action, o, "key"); f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	err := s.store.DeleteVolumeMetadataKey(ctx, resource.GlanceMetadata, id, key, resource.VolumeStatusRule{Not: metadataLockedStatuses})
	var nf *resource.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "MetadataKey" {
		err = wire.NotFound("Glance metadata for volume/snapshot %s cannot be found.", id)
	}
	if err != nil {
		return wire.NotFoundAs(metadataStateError(err, "Deleting"), "Volume", id)
	}
	writeEmpty(w, http.StatusOK)
	return nil
}

// showImageMetadata is os-show_image_metadata: {"metadata": {...}}. It takes no argument.
func (s *server) showImageMetadata(w http.ResponseWriter, r *http.Request, id string, _ any) error {
	ctx := r.Context()
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	md, err := s.store.VolumeMetadata(ctx, resource.GlanceMetadata, id)
	if err != nil {
		return wire.NotFoundAs(err, "Volume", id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

// resourceFilter is one entry of GET /resource_filters.
type resourceFilter struct {
	Resource string   `json:"resource"`
	Filters  []string `json:"filters"`
}

// resourceFilters are the filters Scoria's lists accept from every caller, by resource: the
// volume list's table (s.volFilters), the snapshots', the messages' (messages.FilterKeys),
// the pools' (3.28/3.35), the volume types' (3.52) and the transfers' (3.59).
func (s *server) resourceFilters() []resourceFilter {
	return []resourceFilter{
		{Resource: "volume", Filters: s.volFilters},
		{Resource: "snapshot", Filters: []string{"name", "status", "volume_id", "metadata"}},
		{Resource: "message", Filters: messages.FilterKeys()},
		{Resource: "pool", Filters: []string{"name", "volume_type"}},
		{Resource: "volume_type", Filters: []string{"is_public", "extra_specs"}},
		{Resource: "transfer", Filters: []string{"name", "id", "source_project_id", "destination_project_id"}},
	}
}

// listResourceFilters is GET /resource_filters (3.33), optionally ?resource=X.
func (s *server) listResourceFilters(w http.ResponseWriter, r *http.Request) error {
	if !wire.VersionOf(r.Context()).AtLeast(mvResourceFilters) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	out := []resourceFilter{}
	want, only := r.URL.Query()["resource"]
	for _, rf := range s.resourceFilters() {
		if !only || rf.Resource == want[len(want)-1] {
			out = append(out, rf)
		}
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"resource_filters": out})
	return nil
}
