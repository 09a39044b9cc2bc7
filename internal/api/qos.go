package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// QoS specs (/qos-specs), as Cinder's qos_specs_manage controller serves them; every call is
// for admins. Specs name a consumer (front-end, back-end or both) and are associated with
// volume types.

// qosStore is what the QoS endpoints need of the database.
type qosStore interface {
	CreateQoSSpecs(ctx context.Context, q *resource.QoSSpecs) error
	GetQoSSpecs(ctx context.Context, id string) (*resource.QoSSpecs, error)
	ListQoSSpecs(ctx context.Context, f resource.QoSSpecsFilter) ([]*resource.QoSSpecs, error)
	UpdateQoSSpecs(ctx context.Context, id, consumer string, specs map[string]string) error
	DeleteQoSSpecsKeys(ctx context.Context, id string, keys []string) error
	DeleteQoSSpecs(ctx context.Context, id string, force bool) error
	AssociateQoSSpecs(ctx context.Context, id, typeID string) error
	DisassociateQoSSpecs(ctx context.Context, id, typeID string) error
	DisassociateAllQoSSpecs(ctx context.Context, id string) error
	ListQoSAssociations(ctx context.Context, id string) ([]resource.QoSAssociation, error)
	GetVolumeTypeQoSSpecs(ctx context.Context, typeID string) (*resource.QoSSpecs, error)
}

// Policy rules of the QoS endpoints (all rule:admin_api in Cinder).
const (
	policyQoSGetAll = "volume_extension:qos_specs_manage:get_all"
	policyQoSGet    = "volume_extension:qos_specs_manage:get"
	policyQoSCreate = "volume_extension:qos_specs_manage:create"
	policyQoSUpdate = "volume_extension:qos_specs_manage:update"
	policyQoSDelete = "volume_extension:qos_specs_manage:delete"
)

func (s *server) qosRoutes(api route) {
	api("/qos-specs", http.MethodGet, s.listQoS)
	api("/qos-specs", http.MethodPost, s.createQoS)
	api("/qos-specs/{qos_id}", http.MethodGet, s.showQoS)
	api("/qos-specs/{qos_id}", http.MethodPut, s.updateQoS)
	api("/qos-specs/{qos_id}", http.MethodDelete, s.deleteQoS)
	api("/qos-specs/{qos_id}/delete_keys", http.MethodPut, s.deleteQoSKeys)
	api("/qos-specs/{qos_id}/associations", http.MethodGet, s.qosAssociations)
	api("/qos-specs/{qos_id}/associate", http.MethodGet, s.associateQoS)
	api("/qos-specs/{qos_id}/disassociate", http.MethodGet, s.disassociateQoS)
	api("/qos-specs/{qos_id}/disassociate_all", http.MethodGet, s.disassociateAllQoS)
}

// qosView is one QoS specs as Cinder shows it.
type qosView struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Consumer string            `json:"consumer"`
	Specs    map[string]string `json:"specs"`
}

func newQoSView(q *resource.QoSSpecs) qosView {
	return qosView{ID: q.ID, Name: q.Name, Consumer: q.Consumer, Specs: q.Specs}
}

// qosNotFound words a missing QoS specs as Cinder's QoSSpecsNotFound; other errors pass.
func qosNotFound(err error, id string) error {
	var nf *resource.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "QoSSpecs" {
		return wire.NotFound("No such QoS spec %s.", id)
	}
	return err
}

// invalidConsumer is Cinder's InvalidQoSSpecs for a consumer it does not know.
func invalidConsumer() *wire.Fault {
	return wire.BadRequest("Invalid qos specs: Valid consumer of QoS specs are: ['front-end', 'back-end', 'both']")
}

// listQoS is GET /qos-specs.
func (s *server) listQoS(w http.ResponseWriter, r *http.Request) error {
	if f := authorizeAdmin(r, policyQoSGetAll); f != nil {
		return f
	}
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	filter, f := s.parseQoSListParams(q)
	if f != nil {
		return f
	}
	var list []*resource.QoSSpecs
	if filter.Limit > 0 {
		var err error
		if list, err = s.store.ListQoSSpecs(r.Context(), filter); err != nil {
			if errors.Is(err, resource.ErrInvalidState) {
				err = wire.InvalidInput("Invalid sort key")
			}
			return qosNotFound(err, filter.Marker)
		}
	}
	out := qosList{QoSSpecs: make([]qosView, 0, len(list))}
	for _, q := range list {
		out.QoSSpecs = append(out.QoSSpecs, newQoSView(q))
	}
	// Cinder's rule: a next link when the page is as long as the limit allows.
	if len(list) > 0 && filter.Limit <= len(list) {
		out.Links = newViewer(r).nextLink("qos-specs", q, list[len(list)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}

// qosList is the body of GET /qos-specs.
type qosList struct {
	QoSSpecs []qosView `json:"qos_specs"`
	Links    []link    `json:"qos_specs_links,omitempty"`
}

// parseQoSListParams reads the paging of a QoS specs list as Cinder's qos_specs_manage
// index does: limit, marker, offset, and sort (or sort_key/sort_dir) on id, created_at,
// updated_at. Other parameters are filters Scoria does not apply.
func (s *server) parseQoSListParams(q wire.Query) (resource.QoSSpecsFilter, *wire.Fault) {
	var (
		filter resource.QoSSpecsFilter
		f      *wire.Fault
	)
	if filter.Limit, f = wire.ParseLimit(q, s.maxLimit); f != nil {
		return filter, f
	}
	if filter.Offset, f = wire.ParseOffset(q); f != nil {
		return filter, f
	}
	filter.Marker, _ = q.Get("marker")
	if filter.Sort, f = parseSortSpec(q, func(k string) (string, bool) {
		return k, slices.Contains(resource.QoSSpecsSortKeys, k)
	}); f != nil {
		return filter, f
	}
	return filter, nil
}

// showQoS is GET /qos-specs/{id}.
func (s *server) showQoS(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSGet); f != nil {
		return f
	}
	q, err := s.store.GetQoSSpecs(r.Context(), id)
	if err != nil {
		return qosNotFound(err, id)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": newQoSView(q), "links": newViewer(r).links("qos-specs", q.ID)})
	return nil
}

// checkSpecStrings is Cinder's validate_dictionary_string_length on QoS specs: keys of 1 to
// 255 characters, string values of at most 255.
func checkSpecStrings(o *wire.Object) (map[string]string, *wire.Fault) {
	out := make(map[string]string, len(o.Keys))
	for _, k := range o.Keys {
		if n := len([]rune(k)); n < 1 || n > 255 {
			return nil, wire.InvalidInput("Key \"%s\" has a length of %d, it must be between 1 and 255.", k, n)
		}
		switch v := o.Vals[k].(type) {
		case nil:
			out[k] = ""
		case string:
			if n := len([]rune(v)); n > 255 {
				return nil, wire.InvalidInput("Value for key \"%s\" has %d characters, more than 255.", k, n)
			}
			out[k] = v
		default:
			return nil, wire.InvalidInput("Value for key \"%s\" is not a string or unicode", k)
		}
	}
	return out, nil
}

// createQoS is POST /qos-specs: {"qos_specs": {"name": …, "consumer": …, key: value…}}.
func (s *server) createQoS(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if f := authorizeAdmin(r, policyQoSCreate); f != nil {
		return f
	}
	qosBody, err := wire.ReadMember(r, "qos_specs")
	if err != nil {
		return err
	}
	qs, f := wire.RequireObject("qos_specs", qosBody)
	if f != nil {
		return f
	}
	if !qs.Has("name") {
		return wire.SchemaError("qos_specs", qs, "'name' is a required property")
	}
	nv := qs.Vals["name"]
	if f := wire.CheckType("name", nv, "string"); f != nil {
		return f
	}
	name := strings.TrimSpace(nv.(string))
	if name == "" || len([]rune(name)) > 255 {
		return wire.SchemaError("name", nv, "An invalid 'name' value was provided. It must be non-empty and at most 255 characters once leading and trailing whitespace is removed.")
	}
	rest := &wire.Object{Vals: map[string]any{}}
	for _, k := range qs.Keys {
		if k != "name" {
			rest.Keys = append(rest.Keys, k)
			rest.Vals[k] = qs.Vals[k]
		}
	}
	specs, f := checkSpecStrings(rest)
	if f != nil {
		return f
	}
	consumer := resource.QoSConsumerBackEnd
	if c, ok := specs["consumer"]; ok {
		if !slices.Contains(resource.QoSConsumers, c) {
			return invalidConsumer()
		}
		consumer = c
		delete(specs, "consumer")
	}
	q := &resource.QoSSpecs{ID: uuid.NewString(), Name: name, Consumer: consumer, Specs: specs}
	if err := s.store.CreateQoSSpecs(ctx, q); err != nil {
		if errors.Is(err, resource.ErrQoSSpecsExists) {
			err = wire.New(http.StatusConflict, "QoS Specs %s already exists.", name)
		}
		return err
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"qos_specs_id": q.ID, "name": name}).Info("qos specs created")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": newQoSView(q), "links": newViewer(r).links("qos-specs", q.ID)})
	return nil
}

// updateQoS is PUT /qos-specs/{id}: {"qos_specs": {key: value…}} sets keys (and consumer);
// the answer is the body.
func (s *server) updateQoS(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSUpdate); f != nil {
		return f
	}
	qosBody, err := wire.ReadMember(r, "qos_specs")
	if err != nil {
		return err
	}
	specs, f := checkExtraSpecs("qos_specs", qosBody, false, true)
	if f != nil {
		return f
	}
	consumer := ""
	if c, ok := specs["consumer"]; ok {
		if !slices.Contains(resource.QoSConsumers, c) {
			return invalidConsumer()
		}
		consumer = c
		delete(specs, "consumer")
	}
	if err := s.store.UpdateQoSSpecs(ctx, id, consumer, specs); err != nil {
		return qosNotFound(err, id)
	}
	reqctx.Log(ctx, s.log).WithField("qos_specs_id", id).Info("qos specs updated")
	out := map[string]string{}
	maps := qosBody.(*wire.Object)
	for _, k := range maps.Keys {
		v, _ := maps.Vals[k].(string)
		out[k] = v
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": out})
	return nil
}

// deleteQoS is DELETE /qos-specs/{id}[?force=…].
func (s *server) deleteQoS(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSDelete); f != nil {
		return f
	}
	// oslo's bool_from_string, not strict: anything it does not know is false.
	force := wire.IsTrue(strings.ToLower(strings.TrimSpace(r.URL.Query().Get("force"))))
	if err := s.store.DeleteQoSSpecs(ctx, id, force); err != nil {
		if errors.Is(err, resource.ErrQoSSpecsInUse) {
			err = wire.BadRequest("Qos specs still in use.")
		}
		return qosNotFound(err, id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"qos_specs_id": id, "force": force}).Info("qos specs deleted")
	wire.WriteAccepted(w)
	return nil
}

// deleteQoSKeys is PUT /qos-specs/{id}/delete_keys: {"keys": [...]}.
func (s *server) deleteQoSKeys(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSUpdate); f != nil {
		return f
	}
	keysBody, err := wire.ReadMember(r, "keys")
	if err != nil {
		return err
	}
	list, ok := keysBody.([]any)
	if !ok {
		return wire.CheckType("keys", keysBody, "array")
	}
	keys := make([]string, 0, len(list))
	for _, v := range list {
		if f := wire.CheckType("keys", v, "string"); f != nil {
			return f
		}
		k := v.(string)
		if f := wire.CheckLength("keys", k, 1, 255); f != nil {
			return f
		}
		if slices.Contains(keys, k) {
			return wire.SchemaError("keys", keysBody, wire.PyRepr(keysBody)+" has non-unique elements")
		}
		keys = append(keys, k)
	}
	if err := s.store.DeleteQoSSpecsKeys(ctx, id, keys); err != nil {
		var nf *resource.NotFoundError
		if errors.As(err, &nf) && nf.Kind == "QoSSpecsKey" {
			err = wire.BadRequest("QoS spec %s has no spec with key %s.", id, nf.ID)
		}
		return qosNotFound(err, id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"qos_specs_id": id, "keys": keys}).Info("qos specs keys deleted")
	wire.WriteAccepted(w)
	return nil
}

// qosAssociations is GET /qos-specs/{id}/associations.
func (s *server) qosAssociations(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSGetAll); f != nil {
		return f
	}
	list, err := s.store.ListQoSAssociations(r.Context(), id)
	if err != nil {
		return qosNotFound(err, id)
	}
	type association struct {
		Type string `json:"association_type"`
		Name string `json:"name"`
		ID   string `json:"id"`
	}
	out := make([]association, 0, len(list))
	for _, a := range list {
		out = append(out, association{Type: "volume_type", Name: a.TypeName, ID: a.TypeID})
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"qos_associations": out})
	return nil
}

// associateQoS is GET /qos-specs/{id}/associate?vol_type_id=….
func (s *server) associateQoS(w http.ResponseWriter, r *http.Request) error {
	return s.changeAssociation(w, r, "associate", func(ctx context.Context, id, typeID string) error {
		return s.store.AssociateQoSSpecs(ctx, id, typeID)
	})
}

// disassociateQoS is GET /qos-specs/{id}/disassociate?vol_type_id=….
func (s *server) disassociateQoS(w http.ResponseWriter, r *http.Request) error {
	return s.changeAssociation(w, r, "disassociate", func(ctx context.Context, id, typeID string) error {
		return s.store.DisassociateQoSSpecs(ctx, id, typeID)
	})
}

func (s *server) changeAssociation(w http.ResponseWriter, r *http.Request, what string, change func(ctx context.Context, id, typeID string) error) error {
	ctx := r.Context()
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSUpdate); f != nil {
		return f
	}
	typeID := r.URL.Query().Get("vol_type_id")
	if typeID == "" {
		return wire.BadRequest("Volume Type id must not be None.")
	}
	if err := change(ctx, id, typeID); err != nil {
		var nf *resource.NotFoundError
		switch {
		case errors.As(err, &nf) && nf.Kind == "VolumeType":
			err = wire.NotFound("Volume type %s could not be found.", typeID)
		case errors.Is(err, resource.ErrQoSAssociated):
			t, gerr := s.store.GetVolumeType(ctx, typeID)
			other := ""
			if gerr == nil {
				other = t.QoSSpecsID
			}
			err = wire.BadRequest("Invalid volume type: Type %s is already associated with another qos specs: %s", typeID, other)
		}
		return qosNotFound(err, id)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"qos_specs_id": id, "volume_type_id": typeID}).Info(fmt.Sprintf("qos specs %sd", what))
	wire.WriteAccepted(w)
	return nil
}

// disassociateAllQoS is GET /qos-specs/{id}/disassociate_all.
func (s *server) disassociateAllQoS(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["qos_id"]
	if f := authorizeAdmin(r, policyQoSUpdate); f != nil {
		return f
	}
	if err := s.store.DisassociateAllQoSSpecs(ctx, id); err != nil {
		return qosNotFound(err, id)
	}
	reqctx.Log(ctx, s.log).WithField("qos_specs_id", id).Info("qos specs disassociated from all types")
	wire.WriteAccepted(w)
	return nil
}
