package api

// The legacy attach actions of POST /volumes/{id}/action, as older Nova and the CLI use
// them: os-reserve makes an attachment (attaching) without a host, os-initialize_connection
// connects it (or answers the connection of a volume already attached), os-attach marks it
// attached with the instance or host, os-begin_detaching / os-roll_detaching move an in-use
// volume to detaching and back, os-detach deletes an attachment, os-terminate_connection
// ends a host's connection, os-unreserve drops a reservation, and os-force_detach (admin)
// terminates the connection on the backend before it deletes the attachment.

import (
	"context"
	"errors"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// attachVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) attachVolumeActions() map[string]volumeAction {
	return map[string]volumeAction{
		"os-reserve":               s.reserveVolume,
		"os-unreserve":             s.unreserveVolume,
		"os-initialize_connection": s.initializeConnection,
		"os-attach":                s.attachVolume,
		"os-begin_detaching":       s.beginDetaching,
		"os-roll_detaching":        s.rollDetaching,
		"os-detach":                s.detachVolume,
		"os-terminate_connection":  s.terminateConnection,
		"os-force_detach":          s.forceDetach,
	}
}

// noArgs checks the arguments of an action without any: null, {} or "".
func noArgs(action string, args any) *wire.Fault {
	switch a := args.(type) {
	case nil:
		return nil
	case string:
		if a == "" {
			return nil
		}
	case *wire.Object:
		return nil
	}
	return wire.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'object', 'null'", action, wire.PyRepr(args), wire.PyRepr(args))
}

// actionArgs returns the object of an action's arguments (empty for null, {} or "").
func actionArgs(action string, args any) (*wire.Object, *wire.Fault) {
	if o, ok := args.(*wire.Object); ok {
		return o, nil
	}
	if f := noArgs(action, args); f != nil {
		return nil, f
	}
	return &wire.Object{}, nil
}

// argString returns the string under key ("" when absent or null), or a 400.
func argString(action string, o *wire.Object, key string) (string, *wire.Fault) {
	v, ok := o.Get(key)
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", wire.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string'", key, wire.PyRepr(v), wire.PyRepr(v))
	}
	return s, nil
}

// pending returns the newest attachment of volume id still being attached (reserved or
// attaching), nil when there is none.
func (s *server) pending(ctx context.Context, id string) (*resource.Attachment, error) {
	m, err := s.store.VolumesAttachments(ctx, []string{id}, resource.AttachReserved, resource.AttachAttaching)
	if err != nil {
		return nil, err
	}
	list := m[id]
	if len(list) == 0 {
		return nil, nil
	}
	return list[len(list)-1], nil
}

// reserveVolume is os-reserve: the volume becomes attaching with an attachment to come.
func (s *server) reserveVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	if f := noArgs("os-reserve", args); f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	a := &resource.Attachment{ID: uuid.NewString(), VolumeID: v.ID, ProjectID: v.ProjectID, AttachStatus: resource.AttachAttaching}
	if err := s.store.ReserveAttachment(ctx, a); err != nil {
		return reserveFault(err, v)
	}
	wire.WriteAccepted(w)
	return nil
}

// unreserveVolume is os-unreserve: the attachments still being attached are dropped.
func (s *server) unreserveVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	if f := noArgs("os-unreserve", args); f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	for {
		a, err := s.pending(ctx, id)
		if err != nil {
			return err
		}
		if a == nil {
			break
		}
		if err := s.detach(ctx, a, nil); err != nil {
			return err
		}
	}
	wire.WriteAccepted(w)
	return nil
}

// initializeConnection is os-initialize_connection: the volume's service connects the
// connector's host and the connection info is answered; an attachment being attached
// records it.
func (s *server) initializeConnection(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	connector, f := requiredConnector("os-initialize_connection", args)
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	a, err := s.pending(ctx, id)
	if err != nil {
		return err
	}
	requested := ""
	if a != nil {
		requested = a.AttachMode
	}
	mode, err := s.accessMode(ctx, v, requested)
	if err != nil {
		return err
	}
	attachmentID := ""
	if a != nil {
		attachmentID = a.ID
	}
	info, err := s.connect(ctx, v, attachmentID, connector, mode)
	if err != nil {
		return err
	}
	if a != nil {
		if _, err := s.store.ConnectAttachment(ctx, a.ID, resource.AttachmentConnection{
			Connector: connector, ConnectionInfo: flatConnectionInfo(info), Mode: mode, Host: connectorHost(connector),
		}); err != nil {
			return attachmentStateFault(err, "a connection")
		}
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"connection_info": info})
	return nil
}

// attachVolume is os-attach: the attachment being attached (one is reserved when there is
// none) becomes attached to the instance or host at mountpoint.
func (s *server) attachVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	o, f := actionArgs("os-attach", args)
	if f != nil {
		return f
	}
	var u resource.AttachmentAttach
	for _, k := range []struct {
		key string
		to  *string
	}{{"instance_uuid", &u.InstanceUUID}, {"host_name", &u.Host}, {"mountpoint", &u.Mountpoint}, {"mode", &u.Mode}} {
		if *k.to, f = argString("os-attach", o, k.key); f != nil {
			return f
		}
	}
	if u.InstanceUUID == "" && u.Host == "" {
		return wire.BadRequest("Invalid request to attach volume to an invalid target")
	}
	if u.InstanceUUID != "" && !wire.IsUUIDLike(u.InstanceUUID) {
		return wire.BadRequest("Invalid request to attach volume to an instance %s", u.InstanceUUID)
	}
	if u.Mode != "" && u.Mode != "rw" && u.Mode != "ro" {
		return wire.BadRequest("Invalid input for field/attribute mode. Value: %s. '%s' is not one of ['rw', 'ro']", u.Mode, u.Mode)
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	if u.Mode, err = s.accessMode(ctx, v, u.Mode); err != nil {
		return err
	}
	a, err := s.pending(ctx, id)
	if err != nil {
		return err
	}
	if a == nil {
		a = &resource.Attachment{ID: uuid.NewString(), VolumeID: v.ID, ProjectID: v.ProjectID, AttachStatus: resource.AttachAttaching}
		if err := s.store.ReserveAttachment(ctx, a); err != nil {
			return reserveFault(err, v)
		}
	}
	if _, err := s.store.MarkAttached(ctx, a.ID, u); err != nil {
		return attachmentStateFault(err, "os-attach")
	}
	wire.WriteAccepted(w)
	return nil
}

// beginDetaching is os-begin_detaching: an in-use volume becomes detaching.
func (s *server) beginDetaching(w http.ResponseWriter, r *http.Request, id string, args any) error {
	return s.legacyDetachStep(w, r, id, args, "os-begin_detaching", resource.StatusInUse, resource.StatusDetaching)
}

// rollDetaching is os-roll_detaching: a detaching volume goes back to in-use.
func (s *server) rollDetaching(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	if f := noArgs("os-roll_detaching", args); f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	// Cinder does nothing to a volume that is not detaching; settling gives back in-use.
	if err := s.store.SettleVolume(ctx, id, []string{resource.StatusDetaching}); err != nil && !isInvalidState(err) {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

func (s *server) legacyDetachStep(w http.ResponseWriter, r *http.Request, id string, args any, action, from, to string) error {
	ctx := r.Context()
	if f := noArgs(action, args); f != nil {
		return f
	}
	if _, err := s.getVolume(ctx, id); err != nil {
		return err
	}
	if _, err := s.store.TransitionVolume(ctx, id, []string{from}, resource.VolumeChange{Status: to}); err != nil {
		return attachmentStateFault(err, action)
	}
	wire.WriteAccepted(w)
	return nil
}

// attachmentOf returns the attachment of volume id that attachment_id names, or its only
// live attachment when none is named.
func (s *server) attachmentOf(ctx context.Context, v *resource.Volume, attachmentID string) (*resource.Attachment, error) {
	if attachmentID != "" {
		a, err := s.store.GetAttachment(ctx, attachmentID)
		if err != nil || a.VolumeID != v.ID {
			return nil, attachmentNotFound(attachmentID)
		}
		return a, nil
	}
	m, err := s.store.VolumesAttachments(ctx, []string{v.ID})
	if err != nil {
		return nil, err
	}
	switch list := m[v.ID]; len(list) {
	case 0:
		return nil, wire.BadRequest("Invalid volume: Volume %s has no attachment to detach.", v.ID)
	case 1:
		return list[0], nil
	}
	return nil, wire.BadRequest("Invalid volume: Volume %s has several attachments: attachment_id is required.", v.ID)
}

// detachVolume is os-detach: the attachment (attachment_id, or the only one) is deleted and
// the volume is available when none is left. The connection was terminated by the caller
// (os-terminate_connection).
func (s *server) detachVolume(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	o, f := actionArgs("os-detach", args)
	if f != nil {
		return f
	}
	attID, f := argString("os-detach", o, "attachment_id")
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	a, err := s.attachmentOf(ctx, v, attID)
	if err != nil {
		return err
	}
	if _, err := s.store.DetachAttachment(ctx, a.ID, resource.AttachableStatuses, resource.LiveAttachStatuses); err != nil {
		return attachmentStateFault(attachmentNotFoundAs(err, a.ID), "os-detach")
	}
	wire.WriteAccepted(w)
	return nil
}

// terminateConnection is os-terminate_connection: the connector's host loses its
// connection on the volume's service; the export goes when no other attachment holds one.
func (s *server) terminateConnection(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	connector, f := requiredConnector("os-terminate_connection", args)
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	if v.Host == "" {
		wire.WriteAccepted(w)
		return nil
	}
	if s.conns == nil {
		return errNoConnections
	}
	m, err := s.store.VolumesAttachments(ctx, []string{v.ID})
	if err != nil {
		return err
	}
	host := connectorHost(connector)
	last := true
	for _, a := range m[v.ID] {
		if a.ConnectionInfo != nil && a.AttachStatus != resource.AttachDetaching && (host == "" || connectorHost(a.Connector) != host) {
			last = false
		}
	}
	if err := s.conns.TerminateConnection(ctx, v.Host, rpcapi.ConnectionArgs{
		VolumeID: v.ID, Connector: driver.Connector(connector), RemoveExport: last,
	}); err != nil {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

// forceDetach is os-force_detach (admin): the connection is terminated on the backend
// first, then the attachment (attachment_id, or every one of the volume) is deleted
// whatever its status.
func (s *server) forceDetach(w http.ResponseWriter, r *http.Request, id string, args any) error {
	ctx := r.Context()
	o, f := actionArgs("os-force_detach", args)
	if f != nil {
		return f
	}
	attID, f := argString("os-force_detach", o, "attachment_id")
	if f != nil {
		return f
	}
	if cv, has := o.Get("connector"); has {
		if _, f := parseConnector(cv, has); f != nil {
			return f
		}
	}
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return err
	}
	var list []*resource.Attachment
	if attID != "" {
		a, err := s.attachmentOf(ctx, v, attID)
		if err != nil {
			return err
		}
		list = []*resource.Attachment{a}
	} else {
		m, err := s.store.VolumesAttachments(ctx, []string{v.ID})
		if err != nil {
			return err
		}
		list = m[v.ID]
	}
	for _, a := range list {
		if err := s.detach(ctx, a, nil); err != nil {
			return err
		}
	}
	if len(list) == 0 {
		// Nothing attached: settle a volume left attaching or detaching by hand.
		if err := s.store.SettleVolume(ctx, v.ID, nil); err != nil && !isInvalidState(err) {
			return err
		}
	}
	wire.WriteAccepted(w)
	return nil
}

func isInvalidState(err error) bool {
	var ise *resource.InvalidStateError
	return errors.As(err, &ise)
}

// requiredConnector reads the connector an action's arguments must carry ({"connector": {…}}),
// as os-initialize_connection and os-terminate_connection require it.
func requiredConnector(action string, args any) (driver.Connector, *wire.Fault) {
	o, f := actionArgs(action, args)
	if f != nil {
		return nil, f
	}
	cv, has := o.Get("connector")
	connector, f := parseConnector(cv, has)
	if f == nil && connector == nil {
		f = wire.BadRequest("Invalid input for field/attribute %s. 'connector' is a required property", action)
	}
	return connector, f
}
