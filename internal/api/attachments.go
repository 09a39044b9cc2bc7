package api

// Attachments (3.27+) and the legacy attach actions (os-reserve, os-initialize_connection,
// os-attach, os-begin_detaching, os-detach, os-terminate_connection, …).
//
// An attachment is reserved (create), connected (update with a connector, or create with
// one: the volume service of the volume's backend answers initialize_connection with the
// connection info), attached (os-complete) and deleted (terminate_connection on the volume
// service, the export removed with the volume's last connection). Each step is one
// conditional change of the attachment and its volume in the database (internal/db
// attachments.go). A volume service that does not answer is a 503, and the attachment stays
// as it was (reserved) or, on delete, detaching: the attachment sweeper (attachments_sweep.go)
// resolves what is left.
//
// CVE-2023-2088: Cinder lets only a service (Nova, with a service token) delete an attachment
// that has an instance and a connector, so that a user cannot detach a volume under a running
// instance and leave its host with a stale connection. With noauth every caller is an admin
// and may delete such an attachment, as an admin may in Cinder's noauth mode; a non-admin
// caller (X-Roles: member) gets Cinder's 409. With Keystone (mayDeleteInstanceAttachment)
// only a request carrying a valid X-Service-Token with a service role may: Cinder would ask
// Nova about any other and answer 500 when no Nova is in the catalog; Scoria has no Nova to
// ask and answers the 409 instead, the closest answer that is not a server error.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// Microversions of attachments.
var (
	mvAttachments        = wire.Version{Major: 3, Minor: 27}
	mvAttachmentComplete = wire.Version{Major: 3, Minor: 44}
	mvAttachmentMode     = wire.Version{Major: 3, Minor: 54}
)

// Policy rules of this area, named as in Cinder's policy.
const (
	policyForceDetach = "volume_extension:volume_admin_actions:force_detach"
)

// attachmentStore is what this area needs of the database.
type attachmentStore interface {
	ReserveAttachment(ctx context.Context, a *resource.Attachment) error
	ConnectAttachment(ctx context.Context, id string, c resource.AttachmentConnection) (*resource.Attachment, error)
	MarkAttached(ctx context.Context, id string, u resource.AttachmentAttach) (*resource.Attachment, error)
	BeginDetachAttachment(ctx context.Context, id string, volumeFrom, from []string) (*resource.Attachment, error)
	DetachAttachment(ctx context.Context, id string, volumeFrom, from []string) (*resource.Attachment, error)
	SettleVolume(ctx context.Context, id string, from []string) error
	GetAttachment(ctx context.Context, id string) (*resource.Attachment, error)
	ListAttachments(ctx context.Context, f resource.AttachmentFilter) ([]*resource.Attachment, error)
	VolumesAttachments(ctx context.Context, ids []string, statuses ...string) (map[string][]*resource.Attachment, error)
	ListStaleAttachments(ctx context.Context, statuses []string, before time.Time) ([]*resource.Attachment, error)
	ListVolumesInStatus(ctx context.Context, statuses []string, updatedBefore time.Time) ([]*resource.Volume, error)
	GetVolumeTypeQoSSpecs(ctx context.Context, typeID string) (*resource.QoSSpecs, error)
	VolumeMetadata(ctx context.Context, kind resource.MetadataKind, id string) (map[string]string, error)
}

// attachmentRoutes registers this area's routes.
func (s *server) attachmentRoutes(api route) {
	gate := func(h wire.HandlerFunc) wire.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			if !wire.VersionOf(r.Context()).AtLeast(mvAttachments) {
				return wire.NotFound(wire.MsgResourceNotFound)
			}
			return h(w, r)
		}
	}
	api("/attachments", http.MethodPost, gate(s.createAttachment))
	api("/attachments", http.MethodGet, gate(func(w http.ResponseWriter, r *http.Request) error { return s.listAttachments(w, r, false) }))
	api("/attachments/detail", http.MethodGet, gate(func(w http.ResponseWriter, r *http.Request) error { return s.listAttachments(w, r, true) }))
	api("/attachments/{attachment_id}", http.MethodGet, gate(s.showAttachment))
	api("/attachments/{attachment_id}", http.MethodPut, gate(s.updateAttachment))
	api("/attachments/{attachment_id}", http.MethodDelete, gate(s.deleteAttachment))
	api("/attachments/{attachment_id}/action", http.MethodPost, gate(s.attachmentAction))
}

// attachmentSummary is an attachment in a list.
type attachmentSummary struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Instance *string `json:"instance"`
	VolumeID string  `json:"volume_id"`
}

// attachmentDetail is an attachment as show, create, update and the detail list give it.
type attachmentDetail struct {
	attachmentSummary
	AttachedAt     string         `json:"attached_at"`
	DetachedAt     string         `json:"detached_at"`
	AttachMode     string         `json:"attach_mode"`
	ConnectionInfo map[string]any `json:"connection_info"`
}

func attachmentSummaryOf(a *resource.Attachment) attachmentSummary {
	return attachmentSummary{ID: a.ID, Status: a.AttachStatus, Instance: nullable(a.InstanceUUID), VolumeID: a.VolumeID}
}

// attachmentDetailOf renders a as Cinder does: empty times as "", no mode as "null", no
// connection as {}.
func attachmentDetailOf(a *resource.Attachment) attachmentDetail {
	d := attachmentDetail{attachmentSummary: attachmentSummaryOf(a), AttachMode: a.AttachMode, ConnectionInfo: a.ConnectionInfo}
	if a.AttachTime != nil {
		d.AttachedAt = a.AttachTime.UTC().Format(timestampLayout)
	}
	if a.DetachTime != nil {
		d.DetachedAt = a.DetachTime.UTC().Format(timestampLayout)
	}
	if d.AttachMode == "" {
		d.AttachMode = "null"
	}
	if d.ConnectionInfo == nil {
		d.ConnectionInfo = map[string]any{}
	}
	return d
}

// volumeAttachmentViews are the entries of a volume's "attachments": its attached attachments.
func volumeAttachmentViews(list []*resource.Attachment) []attachmentView {
	out := []attachmentView{}
	for _, a := range list {
		if a.AttachStatus != resource.AttachAttached {
			continue
		}
		out = append(out, attachmentView{
			ID: a.VolumeID, AttachmentID: a.ID, VolumeID: a.VolumeID,
			ServerID: nullable(a.InstanceUUID), HostName: nullable(a.AttachedHost), Device: nullable(a.Mountpoint),
			AttachedAt: timestampPtr(a.AttachTime),
		})
	}
	return out
}

// getAttachment returns attachment id if the caller may see it (its project, or an admin).
func (s *server) getAttachment(ctx context.Context, id string) (*resource.Attachment, error) {
	a, err := s.store.GetAttachment(ctx, id)
	if err != nil {
		return nil, attachmentNotFoundAs(err, id)
	}
	if rc := reqctx.From(ctx); !rc.IsAdmin && a.ProjectID != rc.ProjectID {
		return nil, attachmentNotFound(id)
	}
	if f := decideOn(ctx, "VolumeAttachment", id, a.ProjectID); f != nil {
		return nil, f
	}
	return a, nil
}

func attachmentNotFound(id string) *wire.Fault {
	return wire.NotFound("Volume attachment could not be found with filter: attachment_id = %s.", id)
}

func attachmentNotFoundAs(err error, id string) error {
	var nf *resource.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "VolumeAttachment" {
		return attachmentNotFound(id)
	}
	return err
}

// parseConnector checks a connector as Cinder's schema does: an object (null for none).
func parseConnector(v any, present bool) (map[string]any, *wire.Fault) {
	if !present || v == nil {
		return nil, nil
	}
	o, ok := v.(*wire.Object)
	if !ok {
		return nil, wire.BadRequest("Invalid input for field/attribute connector. Value: %s. %s is not of type 'object', 'null'", wire.PyRepr(v), wire.PyRepr(v))
	}
	m, _ := plain(o).(map[string]any)
	if len(m) == 0 {
		return nil, nil // an empty connector is none, as Cinder's "if connector" reads it
	}
	return m, nil
}

// plain turns a decoded body value into ordinary Go values (maps, slices).
func plain(v any) any {
	switch t := v.(type) {
	case *wire.Object:
		m := make(map[string]any, len(t.Keys))
		for _, k := range t.Keys {
			val, _ := t.Get(k)
			m[k] = plain(val)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// accessMode decides the mode of an attachment of v: requested ("" when the client did not
// say), ro for a read-only volume (admin metadata readonly=True), where asking rw of a
// read-only volume is Cinder's 400.
func (s *server) accessMode(ctx context.Context, v *resource.Volume, requested string) (string, error) {
	md, err := s.store.VolumeMetadata(ctx, resource.AdminMetadata, v.ID)
	if err != nil {
		return "", err
	}
	readonly := strings.EqualFold(md["readonly"], "true")
	switch {
	case readonly && requested == "rw":
		return "", wire.BadRequest("Invalid attaching mode '%s' for volume %s.", requested, v.ID)
	case readonly:
		return "ro", nil
	case requested == "":
		return "rw", nil
	}
	return requested, nil
}

// connect initializes the connection of attachment a of volume v for connector on the
// volume's service and returns the connection info with the front-end QoS specs of the
// volume's type and the attachment's id.
func (s *server) connect(ctx context.Context, v *resource.Volume, attachmentID string, connector map[string]any, mode string) (driver.ConnectionInfo, error) {
	if s.conns == nil {
		return driver.ConnectionInfo{}, errNoConnections
	}
	if v.Host == "" {
		return driver.ConnectionInfo{}, wire.BadRequest("Invalid volume: Volume %s has no host; it cannot be attached.", v.ID)
	}
	reply, err := s.conns.InitializeConnection(ctx, v.Host, rpcapi.ConnectionArgs{
		VolumeID: v.ID, AttachmentID: attachmentID, Connector: driver.Connector(connector), AccessMode: mode,
	})
	if err != nil {
		return driver.ConnectionInfo{}, err
	}
	info := reply.ConnectionInfo
	if info.Data == nil {
		info.Data = map[string]any{}
	}
	var qos any
	if v.VolumeTypeID != "" {
		q, err := s.store.GetVolumeTypeQoSSpecs(ctx, v.VolumeTypeID)
		if err != nil {
			return driver.ConnectionInfo{}, err
		}
		if q != nil && q.FrontEnd() {
			qos = q.Specs
		}
	}
	info.Data["qos_specs"] = qos
	info.Data["access_mode"] = mode
	if _, ok := info.Data["cacheable"]; !ok {
		info.Data["cacheable"] = false
	}
	if attachmentID != "" {
		info.Data["attachment_id"] = attachmentID
	}
	return info, nil
}

// flatConnectionInfo is info as an attachment holds it: the data's keys with
// driver_volume_type (Cinder's attachment API; Nova splits it again).
func flatConnectionInfo(info driver.ConnectionInfo) map[string]any {
	out := make(map[string]any, len(info.Data)+1)
	for k, v := range info.Data {
		out[k] = v
	}
	out["driver_volume_type"] = info.DriverVolumeType
	return out
}

// connectorHost is the connector's "host", "" when it has none.
func connectorHost(c map[string]any) string {
	h, _ := c["host"].(string)
	return h
}

// reserveFault turns a refused reservation into Cinder's 400.
func reserveFault(err error, v *resource.Volume) error {
	var ise *resource.InvalidStateError
	if !errors.As(err, &ise) || ise.Kind != "Volume" {
		return err
	}
	switch {
	case ise.Status == resource.StatusAvailable:
		return wire.BadRequest("Invalid volume: Volume %s is not multiattach and already has an attachment.", v.ID)
	case !v.Multiattach && slices.Contains(resource.AttachableStatuses, ise.Status):
		return wire.BadRequest("Invalid volume: Volume %s is not multiattach and is already %s; it cannot be attached again.", v.ID, ise.Status)
	}
	return wire.BadRequest("Invalid volume: Volume %s status must be available or in-use to reserve, but the current status is %s.", v.ID, ise.Status)
}

// attachmentStateFault turns an attachment or volume in the wrong status into a 400.
func attachmentStateFault(err error, what string) error {
	var ise *resource.InvalidStateError
	if errors.As(err, &ise) {
		kind := "volume attachment"
		if ise.Kind == "Volume" {
			kind = "volume"
		}
		return wire.BadRequest("Invalid %s: %s %s is in status %s; %s needs %s.", kind, wire.KindName(ise.Kind), ise.ID, ise.Status, what, strings.Join(ise.Want, " or "))
	}
	return err
}

// attachmentBody reads {"attachment": {…}} and checks its keys against allowed.
func attachmentBody(r *http.Request, allowed ...string) (*wire.Object, *wire.Fault) {
	body, err := wire.ReadBody(r)
	if err != nil {
		var f *wire.Fault
		if errors.As(err, &f) {
			return nil, f
		}
		return nil, wire.BadRequest(wire.MsgMalformedBody)
	}
	o, ok := body.(*wire.Object)
	if !ok {
		return nil, wire.BadRequest(wire.MsgMalformedBody)
	}
	v, ok := o.Get("attachment")
	if !ok {
		return nil, wire.BadRequest("Invalid input for field/attribute attachment. Value: %s. 'attachment' is a required property", wire.PyRepr(body))
	}
	a, ok := v.(*wire.Object)
	if !ok {
		return nil, wire.BadRequest("Invalid input for field/attribute attachment. Value: %s. %s is not of type 'object'", wire.PyRepr(v), wire.PyRepr(v))
	}
	for _, k := range a.Keys {
		if !slices.Contains(allowed, k) {
			return nil, wire.BadRequest("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	return a, nil
}

// policyMultiattachBootable is Cinder's rule of attaching a bootable multiattach volume that
// is already in use.
const policyMultiattachBootable = "volume:multiattach_bootable_volume"

// multiattachBusyStatuses are the statuses of a multiattach volume that already has an
// attachment and takes another (see db.Store.ReserveAttachment).
var multiattachBusyStatuses = []string{resource.StatusReserved, resource.StatusAttaching, resource.StatusInUse}

// createAttachment is POST /attachments: reserve the volume for an instance and, with a
// connector, connect it at once.
func (s *server) createAttachment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	allowed := []string{"volume_uuid", "instance_uuid", "connector"}
	if wire.VersionOf(ctx).AtLeast(mvAttachmentMode) {
		allowed = append(allowed, "mode")
	}
	body, f := attachmentBody(r, allowed...)
	if f != nil {
		return f
	}
	volID, _ := body.Get("volume_uuid")
	vid, ok := volID.(string)
	if !ok || !wire.IsUUIDLike(vid) {
		return wire.BadRequest("Invalid input for field/attribute volume_uuid. Value: %s. %s is not a 'uuid'", wire.PyRepr(volID), wire.PyRepr(volID))
	}
	inst := ""
	if iv, ok := body.Get("instance_uuid"); ok && iv != nil {
		is, ok := iv.(string)
		if !ok || !wire.IsUUIDLike(is) {
			return wire.BadRequest("Invalid input for field/attribute instance_uuid. Value: %s. %s is not a 'uuid'", wire.PyRepr(iv), wire.PyRepr(iv))
		}
		inst = is
	}
	cv, hasConn := body.Get("connector")
	connector, f := parseConnector(cv, hasConn)
	if f != nil {
		return f
	}
	requested := ""
	if mv, ok := body.Get("mode"); ok && mv != nil {
		ms, _ := mv.(string)
		if ms != "rw" && ms != "ro" {
			return wire.BadRequest("Invalid input for field/attribute mode. Value: %s. %s is not one of ['rw', 'ro']", wire.PyRepr(mv), wire.PyRepr(mv))
		}
		requested = ms
	}
	v, err := s.getVolume(ctx, vid)
	if err != nil {
		return err
	}
	// As Cinder's _attachment_reserve, before anything else of the reservation: another
	// attachment of a bootable multiattach volume already in use needs its own rule, on the
	// volume (its project). Cinder reserves a multiattach volume only when available or
	// in-use; Scoria also when reserved or attaching (another attachment under way), where
	// the rule guards the further attachment alike.
	if v.Multiattach && v.Bootable && slices.Contains(multiattachBusyStatuses, v.Status) {
		if f := authorizeIn(ctx, policyMultiattachBootable, v.ProjectID); f != nil {
			return f
		}
	}
	mode, err := s.accessMode(ctx, v, requested)
	if err != nil {
		return err
	}
	a := &resource.Attachment{
		ID: uuid.NewString(), VolumeID: v.ID, ProjectID: v.ProjectID, InstanceUUID: inst,
		Connector: connector, AttachedHost: connectorHost(connector),
	}
	if requested != "" {
		a.AttachMode = requested
	}
	if err := s.store.ReserveAttachment(ctx, a); err != nil {
		return reserveFault(err, v)
	}
	log := reqctx.Log(ctx, s.log).WithFields(logrus.Fields{"volume_id": v.ID, "attachment_id": a.ID})
	log.Info("attachment reserved")
	out, err := s.store.GetAttachment(ctx, a.ID)
	if err == nil && connector != nil {
		out, err = s.connectAttachment(ctx, v, out, connector, mode)
	}
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentDetailOf(out)})
	return nil
}

// connectAttachment connects attachment a of volume v and records it. When the volume
// service cannot be reached the attachment is left as it was.
func (s *server) connectAttachment(ctx context.Context, v *resource.Volume, a *resource.Attachment, connector map[string]any, mode string) (*resource.Attachment, error) {
	info, err := s.connect(ctx, v, a.ID, connector, mode)
	if err != nil {
		return nil, err
	}
	out, err := s.store.ConnectAttachment(ctx, a.ID, resource.AttachmentConnection{
		Connector: connector, ConnectionInfo: flatConnectionInfo(info), Mode: mode, Host: connectorHost(connector),
	})
	if err != nil {
		return nil, attachmentStateFault(attachmentNotFoundAs(err, a.ID), "a connection")
	}
	reqctx.Log(ctx, s.log).WithFields(logrus.Fields{"volume_id": v.ID, "attachment_id": a.ID, "driver_volume_type": info.DriverVolumeType}).Info("attachment connected")
	return out, nil
}

// updateAttachment is PUT /attachments/{id}: connect a reserved attachment to its host.
func (s *server) updateAttachment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["attachment_id"]
	body, f := attachmentBody(r, "connector")
	if f != nil {
		return f
	}
	cv, hasConn := body.Get("connector")
	connector, f := parseConnector(cv, hasConn)
	if f != nil {
		return f
	}
	if connector == nil {
		return wire.BadRequest("Invalid input for field/attribute connector. 'connector' is a required property")
	}
	a, err := s.getAttachment(ctx, id)
	if err != nil {
		return err
	}
	if !slices.Contains([]string{resource.AttachReserved, resource.AttachAttaching, resource.AttachErrorAttaching}, a.AttachStatus) {
		return wire.BadRequest("Invalid volume attachment: attachment %s is in status %s; only a reserved or attaching attachment can be connected.", id, a.AttachStatus)
	}
	v, err := s.getVolume(ctx, a.VolumeID)
	if err != nil {
		return err
	}
	mode, err := s.accessMode(ctx, v, a.AttachMode)
	if err != nil {
		return err
	}
	out, err := s.connectAttachment(ctx, v, a, connector, mode)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentDetailOf(out)})
	return nil
}

// attachmentAction is POST /attachments/{id}/action: os-complete (3.44).
func (s *server) attachmentAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !wire.VersionOf(ctx).AtLeast(mvAttachmentComplete) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, ok := body.(*wire.Object)
	if !ok || len(o.Keys) != 1 {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	if o.Keys[0] != "os-complete" {
		return wire.BadRequest("There is no such action: %s", o.Keys[0])
	}
	id := mux.Vars(r)["attachment_id"]
	if _, err := s.getAttachment(ctx, id); err != nil {
		return err
	}
	a, err := s.store.MarkAttached(ctx, id, resource.AttachmentAttach{})
	if err != nil {
		return attachmentStateFault(attachmentNotFoundAs(err, id), "os-complete")
	}
	reqctx.Log(ctx, s.log).WithFields(logrus.Fields{"volume_id": a.VolumeID, "attachment_id": id}).Info("attachment complete")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// showAttachment is GET /attachments/{id}.
func (s *server) showAttachment(w http.ResponseWriter, r *http.Request) error {
	a, err := s.getAttachment(r.Context(), mux.Vars(r)["attachment_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentDetailOf(a)})
	return nil
}

// deleteAttachment is DELETE /attachments/{id}: terminate the connection on the volume
// service (removing the export with the volume's last connection), then delete the
// attachment; the volume is available when none is left. It answers the volume's remaining
// attachments.
func (s *server) deleteAttachment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["attachment_id"]
	a, err := s.getAttachment(ctx, id)
	if err != nil {
		return err
	}
	if a.InstanceUUID != "" && a.Connector != nil && !s.mayDeleteInstanceAttachment(ctx) {
		return wire.New(http.StatusConflict,
			"Detach volume from instance %s using the Compute API", a.InstanceUUID)
	}
	if err := s.detach(ctx, a, resource.AttachableStatuses); err != nil {
		return err
	}
	rest, err := s.store.VolumesAttachments(ctx, []string{a.VolumeID})
	if err != nil {
		return err
	}
	out := []attachmentSummary{}
	for _, x := range rest[a.VolumeID] {
		out = append(out, attachmentSummaryOf(x))
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"attachments": out})
	return nil
}

// detach ends attachment a: one that may have a connection is first moved to detaching and
// its connection terminated on the volume service (the export removed when no other
// connection of the volume is left); then it is deleted. volumeFrom empty allows any volume
// status (an admin's force detach). A volume service that does not answer leaves the
// attachment detaching, for the sweeper to finish, and is a 503.
func (s *server) detach(ctx context.Context, a *resource.Attachment, volumeFrom []string) error {
	if a.ConnectionInfo != nil || a.AttachStatus == resource.AttachDetaching {
		if a.AttachStatus != resource.AttachDetaching {
			if _, err := s.store.BeginDetachAttachment(ctx, a.ID, volumeFrom, resource.LiveAttachStatuses); err != nil {
				return attachmentStateFault(attachmentNotFoundAs(err, a.ID), "a detach")
			}
		}
		if err := s.terminate(ctx, a); err != nil {
			return err
		}
		volumeFrom = nil // the volume is detaching, or kept by others: settle it whatever
	}
	if _, err := s.store.DetachAttachment(ctx, a.ID, volumeFrom, resource.LiveAttachStatuses); err != nil {
		return attachmentStateFault(attachmentNotFoundAs(err, a.ID), "a detach")
	}
	reqctx.Log(ctx, s.log).WithFields(logrus.Fields{"volume_id": a.VolumeID, "attachment_id": a.ID}).Info("attachment deleted")
	return nil
}

// terminate ends attachment a's connection on its volume's service; the export goes with
// the volume's last connected attachment.
func (s *server) terminate(ctx context.Context, a *resource.Attachment) error {
	v, err := s.store.GetVolume(ctx, a.VolumeID)
	if err != nil {
		return fmt.Errorf("terminate connection of attachment %s: %w", a.ID, err)
	}
	if v.Host == "" {
		return nil
	}
	if s.conns == nil {
		return errNoConnections
	}
	others, err := s.store.VolumesAttachments(ctx, []string{v.ID})
	if err != nil {
		return err
	}
	last := true
	for _, o := range others[v.ID] {
		if o.ID != a.ID && o.ConnectionInfo != nil {
			last = false
		}
	}
	return s.conns.TerminateConnection(ctx, v.Host, rpcapi.ConnectionArgs{
		VolumeID: v.ID, AttachmentID: a.ID, Connector: driver.Connector(a.Connector), RemoveExport: last,
	})
}

// attachmentFilterKeys are the list filters Cinder's resource_filters.json allows for
// attachments, with the column each maps to.
var attachmentFilterKeys = map[string]string{
	"volume_id": "volume_id", "instance_id": "instance_uuid", "instance_uuid": "instance_uuid",
	"status": "attach_status", "attach_status": "attach_status",
}

// listAttachments is GET /attachments and /attachments/detail.
func (s *server) listAttachments(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	rc := reqctx.From(ctx)
	filter := resource.AttachmentFilter{ProjectID: rc.ProjectID}
	if limit, f := wire.ParseLimit(q, s.maxLimit); f != nil {
		return f
	} else {
		filter.Limit = limit
	}
	if off, f := wire.ParseOffset(q); f != nil {
		return f
	} else {
		filter.Offset = off
	}
	for _, p := range q {
		switch p.Key {
		case "limit", "offset", "sort", "sort_key", "sort_dir":
		case "marker":
			filter.Marker = p.Value
		case "all_tenants":
			if rc.IsAdmin && p.Value != "0" && !strings.EqualFold(p.Value, "false") {
				filter.ProjectID = ""
			}
		case "project_id":
			if rc.IsAdmin {
				filter.ProjectID = p.Value
			}
		default:
			col, ok := attachmentFilterKeys[p.Key]
			if !ok {
				return wire.BadRequest("Invalid filter keys: %s", p.Key)
			}
			switch col {
			case "volume_id":
				filter.VolumeID = p.Value
			case "instance_uuid":
				filter.InstanceUUID = p.Value
			case "attach_status":
				filter.AttachStatus = p.Value
			}
		}
	}
	keys, f := parseSortSpec(q, func(k string) (string, bool) {
		if k == "status" {
			k = "attach_status"
		}
		return k, slices.Contains([]string{"id", "created_at", "updated_at", "attach_status", "volume_id", "instance_uuid"}, k)
	})
	if f != nil {
		return f
	}
	if len(keys) > 0 {
		filter.SortKey, filter.SortDesc = keys[0].Field, keys[0].Desc
	}
	list, err := s.store.ListAttachments(ctx, filter)
	if err != nil {
		var nf *resource.NotFoundError
		if errors.As(err, &nf) && nf.Kind == "Marker" {
			err = wire.BadRequest("Marker %s could not be found.", filter.Marker)
		}
		return err
	}
	if detail {
		out := make([]attachmentDetail, len(list))
		for i, a := range list {
			out[i] = attachmentDetailOf(a)
		}
		wire.WriteJSON(w, http.StatusOK, map[string]any{"attachments": out})
		return nil
	}
	out := make([]attachmentSummary, len(list))
	for i, a := range list {
		out[i] = attachmentSummaryOf(a)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"attachments": out})
	return nil
}
