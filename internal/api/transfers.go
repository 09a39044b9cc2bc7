package api

// Volume transfers (os-volume-transfer and 3.55 volume-transfers), as Cinder's
// contrib/volume_transfer.py and v3/volume_transfer.py serve them.

import (
	"context"
	"errors"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// transferStore is what this area needs of the database.
type transferStore interface {
	CreateTransfer(ctx context.Context, t *resource.Transfer, projectID string) error
	GetTransfer(ctx context.Context, id, projectID string) (*resource.Transfer, error)
	ListTransfers(ctx context.Context, f resource.TransferFilter) ([]*resource.Transfer, error)
	DeleteTransfer(ctx context.Context, id, projectID string) error
	AcceptTransfer(ctx context.Context, id, authKey, projectID, userID string) (*resource.Transfer, error)
}

// Microversions of transfers.
var (
	mvTransferWithSnapshots = wire.Version{Major: 3, Minor: 55} // volume-transfers, no_snapshots
	mvTransferWithHistory   = wire.Version{Major: 3, Minor: 57} // source/destination project, accepted
)

// transferRoutes registers this area's routes: the same handlers under the old extension
// path and, from 3.55, under volume-transfers.
func (s *server) transferRoutes(api route) {
	for _, c := range []struct {
		collection string
		from       wire.Version
	}{{"os-volume-transfer", wire.MinVersion}, {"volume-transfers", mvTransferWithSnapshots}} {
		gate := func(h wire.HandlerFunc) wire.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) error {
				if !wire.VersionOf(r.Context()).AtLeast(c.from) {
					s.unknownPath(w, r)
					return nil
				}
				return h(w, r)
			}
		}
		col := c.collection
		api("/"+col, http.MethodPost, gate(s.createTransfer(col)))
		api("/"+col, http.MethodGet, gate(s.listTransfers(col, false)))
		api("/"+col+"/detail", http.MethodGet, gate(s.listTransfers(col, true)))
		api("/"+col+"/{transfer_id}", http.MethodGet, gate(s.showTransfer(col)))
		api("/"+col+"/{transfer_id}", http.MethodDelete, gate(s.deleteTransfer))
		api("/"+col+"/{transfer_id}/accept", http.MethodPost, gate(s.acceptTransfer(col)))
	}
}

// transferView is a transfer as Cinder shows it; which members appear depends on the call
// and the microversion.
type transferView struct {
	ID                   string     `json:"id"`
	CreatedAt            *timestamp `json:"created_at,omitempty"`
	Name                 *string    `json:"name"`
	VolumeID             string     `json:"volume_id"`
	AuthKey              string     `json:"auth_key,omitempty"`
	NoSnapshots          *bool      `json:"no_snapshots,omitempty"`
	DestinationProjectID opt[any]   `json:"destination_project_id,omitzero"`
	SourceProjectID      opt[any]   `json:"source_project_id,omitzero"`
	Accepted             opt[bool]  `json:"accepted,omitzero"`
	Links                []link     `json:"links"`
}

// transferSummary is the view of lists and of accept: id, name, volume, links.
func (vw viewer) transferSummary(col string, t *resource.Transfer) transferView {
	return transferView{ID: t.ID, Name: nullable(t.Name), VolumeID: t.VolumeID, Links: vw.links(col, t.ID)}
}

// transferDetail adds created_at, and from 3.55 no_snapshots, from 3.57 the history.
func (vw viewer) transferDetail(col string, t *resource.Transfer) transferView {
	v := vw.transferSummary(col, t)
	created := timestamp(t.CreatedAt)
	v.CreatedAt = &created
	if vw.mv.AtLeast(mvTransferWithSnapshots) {
		ns := t.NoSnapshots
		v.NoSnapshots = &ns
	}
	if vw.mv.AtLeast(mvTransferWithHistory) {
		var dest any
		if t.DestinationProjectID != "" {
			dest = t.DestinationProjectID
		}
		v.DestinationProjectID, v.SourceProjectID, v.Accepted = some(dest), some[any](t.SourceProjectID), some(t.Accepted)
	}
	return v
}

// callerProject is the project whose transfers a caller sees: its own, or every one for an
// admin ("").
func callerProject(r *http.Request) string {
	if rc := reqctx.From(r.Context()); !rc.IsAdmin {
		return rc.ProjectID
	}
	return ""
}

// createTransfer is POST /{col}: {"transfer": {"volume_id", "name", "no_snapshots" (3.55)}}.
// The answer (202) carries the auth key, which is never shown again.
func (s *server) createTransfer(col string) wire.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		body, err := wire.ReadBody(r)
		if err != nil {
			return err
		}
		t, f := parseTransferCreate(body, wire.VersionOf(ctx))
		if f != nil {
			return f
		}
		tv, err := s.getVolume(ctx, t.VolumeID)
		if err != nil {
			return err
		}
		if f := transferEncryptionFault(tv); f != nil {
			return f
		}
		if err := s.store.CreateTransfer(ctx, t, callerProject(r)); err != nil {
			return transferError(err)
		}
		reqctx.Log(ctx, s.log).WithField("transfer", t.ID).WithField("volume", t.VolumeID).Info("transfer created")
		v := newViewer(r).transferDetail(col, t)
		v.AuthKey = t.AuthKey
		wire.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": v})
		return nil
	}
}

func parseTransferCreate(body any, mv wire.Version) (*resource.Transfer, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	if f := wire.CheckAdditional("", top, "transfer"); f != nil {
		return nil, f
	}
	raw, ok := top.Get("transfer")
	if !ok {
		return nil, wire.SchemaError("", top, "'transfer' is a required property")
	}
	o, f := wire.RequireObject("transfer", raw)
	if f != nil {
		return nil, f
	}
	allowed := []string{"volume_id", "name"}
	if mv.AtLeast(mvTransferWithSnapshots) {
		allowed = append(allowed, "no_snapshots")
	}
	if f := wire.CheckAdditional("transfer", o, allowed...); f != nil {
		return nil, f
	}
	vid, ok := o.Get("volume_id")
	if !ok {
		return nil, wire.SchemaError("transfer", o, "'volume_id' is a required property")
	}
	if s, isStr := vid.(string); !isStr || !wire.IsUUIDLike(s) {
		return nil, wire.SchemaError("transfer/volume_id", vid, wire.PyRepr(vid)+" is not a 'uuid'")
	}
	t := &resource.Transfer{VolumeID: vid.(string)}
	if name, ok := o.Get("name"); ok {
		if f := wire.CheckNullableString("transfer/name", name, 0, 255); f != nil {
			return nil, f
		}
		if s := wire.Stripped(name); s != nil {
			t.Name = *s
		}
	}
	if ns, ok := o.Get("no_snapshots"); ok {
		b, isBool := ns.(bool)
		if !isBool {
			return nil, wire.SchemaError("transfer/no_snapshots", ns, wire.PyRepr(ns)+" is not of type 'boolean'")
		}
		t.NoSnapshots = b
	}
	return t, nil
}

// listTransfers is GET /{col} and /{col}/detail: the caller's project's open transfers (an
// admin's: every project's).
func (s *server) listTransfers(col string, detail bool) wire.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, f := s.parseTransferPage(r, col)
		if f != nil {
			return f
		}
		all, err := s.store.ListTransfers(r.Context(), resource.TransferFilter{ProjectID: callerProject(r)})
		if err != nil {
			return err
		}
		list, full, err := page.apply(all)
		if err != nil {
			return err
		}
		vw := newViewer(r)
		out := make([]transferView, 0, len(list))
		for _, t := range list {
			if detail {
				out = append(out, vw.transferDetail(col, t))
			} else {
				out = append(out, vw.transferSummary(col, t))
			}
		}
		body := map[string]any{"transfers": out}
		if full && len(list) > 0 {
			q, _ := wire.ParseQuery(r.URL.RawQuery)
			body["transfers_links"] = vw.nextLink(col, q, list[len(list)-1].ID)
		}
		wire.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

// showTransfer is GET /{col}/{id}.
func (s *server) showTransfer(col string) wire.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := s.getTransfer(r, mux.Vars(r)["transfer_id"])
		if err != nil {
			return err
		}
		wire.WriteJSON(w, http.StatusOK, map[string]any{"transfer": newViewer(r).transferDetail(col, t)})
		return nil
	}
}

// getTransfer reads a transfer the caller may see (its volume's project, or an admin) and
// decides the endpoint's rule on that project.
func (s *server) getTransfer(r *http.Request, id string) (*resource.Transfer, error) {
	ctx := r.Context()
	t, err := s.store.GetTransfer(ctx, id, callerProject(r))
	if err != nil {
		return nil, err
	}
	if f := decideOn(ctx, "Transfer", id, t.SourceProjectID); f != nil {
		return nil, f
	}
	return t, nil
}

// deleteTransfer is DELETE /{col}/{id}: the offer is withdrawn, the volume available again.
func (s *server) deleteTransfer(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["transfer_id"]
	if _, err := s.getTransfer(r, id); err != nil {
		return err
	}
	if err := s.store.DeleteTransfer(r.Context(), id, callerProject(r)); err != nil {
		return err
	}
	reqctx.Log(r.Context(), s.log).WithField("transfer", id).Info("transfer deleted")
	wire.WriteAccepted(w)
	return nil
}

// acceptTransfer is POST /{col}/{id}/accept: {"accept": {"auth_key": "…"}}. The volume moves
// to the caller's project (202, the transfer's summary); over quota is 413.
func (s *server) acceptTransfer(col string) wire.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		id := mux.Vars(r)["transfer_id"]
		body, err := wire.ReadBody(r)
		if err != nil {
			return err
		}
		key, f := parseTransferAccept(body)
		if f != nil {
			return f
		}
		rc := reqctx.From(ctx)
		t, err := s.store.AcceptTransfer(ctx, id, key, rc.ProjectID, rc.UserID)
		if err != nil {
			return transferError(err)
		}
		reqctx.Log(ctx, s.log).WithField("transfer", id).WithField("volume", t.VolumeID).
			WithField("from", t.SourceProjectID).WithField("to", rc.ProjectID).Info("transfer accepted")
		wire.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": newViewer(r).transferSummary(col, t)})
		return nil
	}
}

func parseTransferAccept(body any) (string, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return "", f
	}
	if f := wire.CheckAdditional("", top, "accept"); f != nil {
		return "", f
	}
	raw, ok := top.Get("accept")
	if !ok {
		return "", wire.SchemaError("", top, "'accept' is a required property")
	}
	o, f := wire.RequireObject("accept", raw)
	if f != nil {
		return "", f
	}
	if f := wire.CheckAdditional("accept", o, "auth_key"); f != nil {
		return "", f
	}
	k, ok := o.Get("auth_key")
	if !ok {
		return "", wire.SchemaError("accept", o, "'auth_key' is a required property")
	}
	if f := wire.CheckType("accept/auth_key", k, "string"); f != nil {
		return "", f
	}
	key := k.(string)
	if f := wire.CheckLength("accept/auth_key", key, 1, 255); f != nil {
		return "", f
	}
	return key, nil
}

// transferError words the store's refusals as Cinder's transfer API does.
func transferError(err error) error {
	var (
		ise  *resource.InvalidStateError
		sse  *resource.SnapshotStateError
		iake *resource.InvalidAuthKeyError
	)
	switch {
	case errors.As(err, &iake):
		return wire.BadRequest("%s", iake.Error())
	case errors.As(err, &sse):
		return wire.BadRequest("Invalid snapshot: %s", sse.Error())
	case errors.As(err, &ise) && ise.Kind == "Volume" && len(ise.Want) == 1 && ise.Want[0] == resource.StatusAwaitingTransfer:
		return wire.BadRequest("Invalid volume: Volume %s is in status %s; a transfer needs it awaiting-transfer.", ise.ID, ise.Status)
	case errors.As(err, &ise) && ise.Kind == "Volume":
		return wire.BadRequest("Invalid volume: status must be available")
	}
	return err
}
