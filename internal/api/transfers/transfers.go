// Package transfers serves Cinder's volume transfers: os-volume-transfer and, from 3.55,
// volume-transfers (create, list, detail list, show, delete, accept), as Cinder's
// contrib/volume_transfer.py and v3/volume_transfer.py serve them. It holds the handlers
// (Handlers, whose methods the API's router registers under both collections), what they
// need of the database (Store), the transfer view and the list's pagination, sort and
// filters (3.59). The volume a transfer offers is read through the volume area's getter,
// which the router passes in, so its visibility and policy are the volume endpoints'.
package transfers

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/view"
	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// Store is what the transfer endpoints need of the database.
type Store interface {
	CreateTransfer(ctx context.Context, t *resource.Transfer, projectID string) error
	GetTransfer(ctx context.Context, id, projectID string) (*resource.Transfer, error)
	ListTransfers(ctx context.Context, f resource.TransferFilter) ([]*resource.Transfer, error)
	DeleteTransfer(ctx context.Context, id, projectID string) error
	AcceptTransfer(ctx context.Context, id, authKey, projectID, userID string) (*resource.Transfer, error)
}

// VolumeGetter reads a volume the caller may see, deciding the request's pending volume
// rule on it: the volume area's getter.
type VolumeGetter func(ctx context.Context, id string) (*resource.Volume, error)

// Microversions of transfers.
var (
	// WithSnapshots (3.55) serves the volume-transfers collection and no_snapshots.
	WithSnapshots         = wire.Version{Major: 3, Minor: 55}
	mvTransferWithHistory = wire.Version{Major: 3, Minor: 57} // source/destination project, accepted
)

// Handlers serves the transfer endpoints.
type Handlers struct {
	store     Store
	getVolume VolumeGetter
	log       logrus.FieldLogger
	maxLimit  int // osapi_max_limit: the largest page
}

// New returns the handlers of the transfer endpoints: store holds the transfers, getVolume
// reads the volume a create offers, log records the changes, maxLimit caps a page.
func New(store Store, getVolume VolumeGetter, log logrus.FieldLogger, maxLimit int) *Handlers {
	return &Handlers{store: store, getVolume: getVolume, log: log, maxLimit: maxLimit}
}

// viewer builds one request's transfer views: links, and the microversion that decides
// their members.
type viewer struct {
	view.Linker
	mv wire.Version
}

func newViewer(r *http.Request) viewer {
	return viewer{Linker: view.NewLinker(r), mv: wire.VersionOf(r.Context())}
}

// transferView is a transfer as Cinder shows it; which members appear depends on the call
// and the microversion.
type transferView struct {
	ID                   string          `json:"id"`
	CreatedAt            *view.Timestamp `json:"created_at,omitempty"`
	Name                 *string         `json:"name"`
	VolumeID             string          `json:"volume_id"`
	AuthKey              string          `json:"auth_key,omitempty"`
	NoSnapshots          *bool           `json:"no_snapshots,omitempty"`
	DestinationProjectID view.Opt[any]   `json:"destination_project_id,omitzero"`
	SourceProjectID      view.Opt[any]   `json:"source_project_id,omitzero"`
	Accepted             view.Opt[bool]  `json:"accepted,omitzero"`
	Links                []view.Link     `json:"links"`
}

// transferSummary is the view of lists and of accept: id, name, volume, links.
func (vw viewer) transferSummary(col string, t *resource.Transfer) transferView {
	return transferView{ID: t.ID, Name: view.Nullable(t.Name), VolumeID: t.VolumeID, Links: vw.Links(col, t.ID)}
}

// transferDetail adds created_at, and from 3.55 no_snapshots, from 3.57 the history.
func (vw viewer) transferDetail(col string, t *resource.Transfer) transferView {
	v := vw.transferSummary(col, t)
	created := view.Timestamp(t.CreatedAt)
	v.CreatedAt = &created
	if vw.mv.AtLeast(WithSnapshots) {
		ns := t.NoSnapshots
		v.NoSnapshots = &ns
	}
	if vw.mv.AtLeast(mvTransferWithHistory) {
		var dest any
		if t.DestinationProjectID != "" {
			dest = t.DestinationProjectID
		}
		v.DestinationProjectID, v.SourceProjectID, v.Accepted = view.Some(dest), view.Some[any](t.SourceProjectID), view.Some(t.Accepted)
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

// Create is POST /{col}: {"transfer": {"volume_id", "name", "no_snapshots" (3.55)}}.
// The answer (202) carries the auth key, which is never shown again.
func (s *Handlers) Create(col string) wire.HandlerFunc {
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
	if mv.AtLeast(WithSnapshots) {
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

// List is GET /{col} and /{col}/detail: the caller's project's open transfers (an
// admin's: every project's).
func (s *Handlers) List(col string, detail bool) wire.HandlerFunc {
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
			body["transfers_links"] = vw.Next(col, q, list[len(list)-1].ID)
		}
		wire.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

// Show is GET /{col}/{id}.
func (s *Handlers) Show(col string) wire.HandlerFunc {
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
func (s *Handlers) getTransfer(r *http.Request, id string) (*resource.Transfer, error) {
	ctx := r.Context()
	t, err := s.store.GetTransfer(ctx, id, callerProject(r))
	if err != nil {
		return nil, err
	}
	if f := authz.DecideOn(ctx, "Transfer", id, t.SourceProjectID); f != nil {
		return nil, f
	}
	return t, nil
}

// Delete is DELETE /{col}/{id}: the offer is withdrawn, the volume available again.
func (s *Handlers) Delete(w http.ResponseWriter, r *http.Request) error {
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

// Accept is POST /{col}/{id}/accept: {"accept": {"auth_key": "…"}}. The volume moves
// to the caller's project (202, the transfer's summary); over quota is 413.
func (s *Handlers) Accept(col string) wire.HandlerFunc {
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

// transferEncryptionFault refuses to offer an encrypted volume for transfer: Cinder before
// 3.70 refuses it so; from 3.70 Cinder moves the key to the new owner, which Scoria does not
// do yet, so it refuses at every version rather than hand over a volume whose key the new
// owner cannot read.
func transferEncryptionFault(v *resource.Volume) *wire.Fault {
	if v.EncryptionKeyID == "" {
		return nil
	}
	return wire.BadRequest("Invalid volume: transferring encrypted volume is not supported")
}

// mvTransferPagination is 3.59: the volume-transfers list takes limit, marker, offset, sort
// and filters (display_name, id, source_project_id, destination_project_id).
var mvTransferPagination = wire.Version{Major: 3, Minor: 59}

// transferSortColumns are the keys a transfer list may be sorted by, as the columns they name.
var transferSortColumns = map[string]string{
	"id": "id", "created_at": "created_at", "updated_at": "updated_at", "name": "display_name",
	"display_name": "display_name", "volume_id": "volume_id", "source_project_id": "source_project_id",
	"destination_project_id": "destination_project_id",
}

// transferPage is what a list of transfers asks for beyond its project.
type transferPage struct {
	sort          []resource.SortKey
	marker        string
	limit, offset int
	filters       map[string]string // column → value, 3.59
	likeName      string            // display_name~, 3.59
	empty         bool              // a filter on something transfers do not have
}

// parseTransferPage reads the list's parameters: from 3.59 on volume-transfers Cinder's
// pagination, sort and filters; before (and on os-volume-transfer) limit and offset only,
// oldest first, as Cinder's common.limited does.
func (s *Handlers) parseTransferPage(r *http.Request, col string) (*transferPage, *wire.Fault) {
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return nil, f
	}
	p := &transferPage{}
	if p.limit, f = wire.ParseLimit(q, s.maxLimit); f != nil {
		return nil, f
	}
	if p.offset, f = wire.ParseOffset(q); f != nil {
		return nil, f
	}
	if col != "volume-transfers" || !wire.VersionOf(r.Context()).AtLeast(mvTransferPagination) {
		p.sort = []resource.SortKey{{Field: "created_at"}, {Field: "id"}}
		return p, nil
	}
	if p.sort, f = wire.ParseSort(q, func(k string) (string, bool) {
		c, ok := transferSortColumns[k]
		return c, ok
	}); f != nil {
		return nil, f
	}
	if len(p.sort) == 0 {
		p.sort = []resource.SortKey{{Field: "created_at", Desc: true}}
	}
	p.marker, _ = q.Get("marker")
	p.filters = map[string]string{}
	for _, kv := range q {
		switch kv.Key {
		case "limit", "offset", "marker", "sort", "sort_key", "sort_dir", "all_tenants":
		case "name", "display_name", "id", "source_project_id", "destination_project_id":
			p.filters[transferSortColumns[kv.Key]] = kv.Value
		case "name~", "display_name~":
			p.likeName = kv.Value
		default:
			p.empty = true // Cinder filters by a column transfers do not have: nothing matches
		}
	}
	return p, nil
}

// transferField is t's value of a sort or filter column.
func transferField(t *resource.Transfer, column string) string {
	switch column {
	case "id":
		return t.ID
	case "created_at":
		return t.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000")
	case "updated_at":
		if t.UpdatedAt == nil {
			return ""
		}
		return t.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000000")
	case "display_name":
		return t.Name
	case "volume_id":
		return t.VolumeID
	case "source_project_id":
		return t.SourceProjectID
	case "destination_project_id":
		return t.DestinationProjectID
	}
	return ""
}

// apply filters, sorts and pages list; a marker that is not in the list is Cinder's 404.
// The second result says whether the page is full, so that a next link is due.
func (p *transferPage) apply(list []*resource.Transfer) ([]*resource.Transfer, bool, error) {
	if p.empty {
		return nil, false, nil
	}
	kept := list[:0:0]
	for _, t := range list {
		ok := true
		for col, v := range p.filters {
			ok = ok && transferField(t, col) == v
		}
		if p.likeName != "" {
			ok = ok && strings.Contains(strings.ToLower(t.Name), strings.ToLower(p.likeName))
		}
		if ok {
			kept = append(kept, t)
		}
	}
	keys := p.sort
	if !slices.ContainsFunc(keys, func(k resource.SortKey) bool { return k.Field == "id" }) {
		keys = append(slices.Clip(keys), resource.SortKey{Field: "id", Desc: len(keys) > 0 && keys[0].Desc})
	}
	slices.SortStableFunc(kept, func(a, b *resource.Transfer) int {
		for _, k := range keys {
			c := cmp.Compare(transferField(a, k.Field), transferField(b, k.Field))
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if p.marker != "" {
		i := slices.IndexFunc(kept, func(t *resource.Transfer) bool { return t.ID == p.marker })
		if i < 0 {
			return nil, false, &resource.NotFoundError{Kind: "Transfer", ID: p.marker}
		}
		kept = kept[i+1:]
	}
	kept = kept[min(p.offset, len(kept)):]
	full := len(kept) > p.limit || (len(kept) == p.limit && p.limit > 0)
	return kept[:min(p.limit, len(kept))], full, nil
}
