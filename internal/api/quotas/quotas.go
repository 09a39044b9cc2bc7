// Package quotas serves Cinder's quotas, quota classes and limits: os-quota-sets (show with
// or without usage, defaults, update, delete), os-quota-class-sets (show, update) and
// /limits, as Cinder's contrib/quotas.py, contrib/quota_classes.py and v3/limits.py serve
// them. It holds the handlers (Handlers, whose methods the API's router registers), what
// they need of the database (Store), the quota bodies in Cinder's member order and the
// checks of an update. Creating volumes and snapshots charges quotas elsewhere, in the
// creates' own transactions; this package only shows and sets the limits.
package quotas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// Store is what the quota endpoints need of the database.
type Store interface {
	ProjectQuotas(ctx context.Context, projectID string) (resource.QuotaSet, error)
	DefaultQuotas(ctx context.Context) (resource.QuotaSet, error)
	QuotaClass(ctx context.Context, name string) (resource.QuotaSet, error)
	UpdateProjectQuotas(ctx context.Context, projectID string, limits map[string]int64) (resource.QuotaSet, error)
	DeleteProjectQuotas(ctx context.Context, projectID string) error
	UpdateQuotaClass(ctx context.Context, name string, limits map[string]int64) (resource.QuotaSet, error)
}

// Handlers serves the quota, quota class and limits endpoints.
type Handlers struct {
	store Store
	log   logrus.FieldLogger
}

// New returns the handlers of the quota endpoints: store holds the quotas, log records
// their changes.
func New(store Store, log logrus.FieldLogger) *Handlers {
	return &Handlers{store: store, log: log}
}

// Policy rules of quotas, named as in Cinder's policy.
const (
	policyQuotaShow        = "volume_extension:quotas:show"
	policyQuotaUpdate      = "volume_extension:quotas:update"
	policyQuotaDelete      = "volume_extension:quotas:delete"
	policyQuotaClassShow   = "volume_extension:quota_classes:get"
	policyQuotaClassUpdate = "volume_extension:quota_classes:update"
	policyLimitsProject    = "limits_extension:used_limits"
)

// mvLimitsAdminFilter lets an admin ask for another project's limits (?project_id=).
var mvLimitsAdminFilter = wire.Version{Major: 3, Minor: 39}

// nonQuotaKeys may appear in a quota set sent to PUT and are ignored (Cinder's NON_QUOTA_KEYS).
var nonQuotaKeys = []string{"tenant_id", "id"}

// authorizeProject lets an admin act on any project and anyone else on their own, as
// Cinder's admin_or_owner rules do.
func authorizeProject(r *http.Request, rule, project string) *wire.Fault {
	return authz.Authorize(r.Context(), rule, project)
}

// ShowQuotas is GET /os-quota-sets/{project}[?usage=true].
func (s *Handlers) ShowQuotas(w http.ResponseWriter, r *http.Request) error {
	target := mux.Vars(r)["target"]
	if f := authorizeProject(r, policyQuotaShow, target); f != nil {
		return f
	}
	usage := false
	if v, ok := r.URL.Query()["usage"]; ok && len(v) > 0 {
		var f *wire.Fault
		if usage, f = wire.ParseBoolParam("usage", v[0]); f != nil {
			return f
		}
	}
	qs, err := s.store.ProjectQuotas(r.Context(), target)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, quotaBody("quota_set", qs, usage, target))
	return nil
}

// ShowDefaults is GET /os-quota-sets/{project}/defaults.
func (s *Handlers) ShowDefaults(w http.ResponseWriter, r *http.Request) error {
	target := mux.Vars(r)["target"]
	if f := authorizeProject(r, policyQuotaShow, target); f != nil {
		return f
	}
	qs, err := s.store.DefaultQuotas(r.Context())
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, quotaBody("quota_set", qs, false, target))
	return nil
}

// UpdateQuotas is PUT /os-quota-sets/{project} (admin): {"quota_set": {resource: limit}}.
// It answers the project's limits, without id, as Cinder does.
func (s *Handlers) UpdateQuotas(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	target := mux.Vars(r)["target"]
	if f := authz.AuthorizeAdmin(r, policyQuotaUpdate); f != nil {
		return f
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	set, f := quotaSetBody(body, "quota_set")
	if f != nil {
		return f
	}
	if utf8.RuneCountInString(target) > 255 {
		return wire.InvalidInput("quota_set_name has more than 255 characters.")
	}
	current, err := s.store.ProjectQuotas(ctx, target)
	if err != nil {
		return err
	}
	limits, f := quotaLimits(set, current, "quota set", nonQuotaKeys)
	if f != nil {
		return f
	}
	qs, err := s.store.UpdateProjectQuotas(ctx, target, limits)
	if err != nil {
		return quotaUpdateError(err)
	}
	reqctx.Log(ctx, s.log).WithField("project", target).WithField("limits", limits).Info("project quotas updated")
	wire.WriteJSON(w, http.StatusOK, quotaBody("quota_set", qs, false, ""))
	return nil
}

// DeleteQuotas is DELETE /os-quota-sets/{project} (admin): the project has the defaults again.
func (s *Handlers) DeleteQuotas(w http.ResponseWriter, r *http.Request) error {
	target := mux.Vars(r)["target"]
	if f := authz.AuthorizeAdmin(r, policyQuotaDelete); f != nil {
		return f
	}
	if err := s.store.DeleteProjectQuotas(r.Context(), target); err != nil {
		return err
	}
	reqctx.Log(r.Context(), s.log).WithField("project", target).Info("project quotas reset to defaults")
	// Cinder's delete returns nothing: 200 with an empty body.
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// ShowClass is GET /os-quota-class-sets/{class} (admin).
func (s *Handlers) ShowClass(w http.ResponseWriter, r *http.Request) error {
	if f := authz.AuthorizeAdmin(r, policyQuotaClassShow); f != nil {
		return f
	}
	class := mux.Vars(r)["class"]
	qs, err := s.store.QuotaClass(r.Context(), class)
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, quotaBody("quota_class_set", qs, false, class))
	return nil
}

// UpdateClass is PUT /os-quota-class-sets/{class} (admin): {"quota_class_set": {…}}.
func (s *Handlers) UpdateClass(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if f := authz.AuthorizeAdmin(r, policyQuotaClassUpdate); f != nil {
		return f
	}
	class := mux.Vars(r)["class"]
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	set, f := quotaSetBody(body, "quota_class_set")
	if f != nil {
		return f
	}
	if utf8.RuneCountInString(class) > 255 {
		return wire.InvalidInput("quota_class_name has more than 255 characters.")
	}
	current, err := s.store.QuotaClass(ctx, class)
	if err != nil {
		return err
	}
	limits, f := quotaLimits(set, current, "quota class set", nil)
	if f != nil {
		return f
	}
	qs, err := s.store.UpdateQuotaClass(ctx, class, limits)
	if err != nil {
		return quotaUpdateError(err)
	}
	reqctx.Log(ctx, s.log).WithField("class", class).WithField("limits", limits).Info("quota class updated")
	wire.WriteJSON(w, http.StatusOK, quotaBody("quota_class_set", qs, false, ""))
	return nil
}

// ShowLimits is GET /limits: the caller's absolute limits and usage; no rate limits. From
// 3.39 an admin may name another project with ?project_id=.
func (s *Handlers) ShowLimits(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project := reqctx.From(ctx).ProjectID
	if wire.VersionOf(ctx).AtLeast(mvLimitsAdminFilter) {
		if p := r.URL.Query().Get("project_id"); p != "" && p != project {
			if f := authorizeProject(r, policyLimitsProject, p); f != nil {
				return f
			}
			project = p
		}
	}
	qs, err := s.store.ProjectQuotas(ctx, project)
	if err != nil {
		return err
	}
	limit := func(n string) int64 { e, _ := qs.Get(n); return e.Limit }
	used := func(n string) int64 { e, _ := qs.Get(n); return e.InUse + e.Reserved }
	abs := quotaJSON{
		{"maxTotalVolumes", limit(resource.QuotaVolumes)},
		{"maxTotalSnapshots", limit(resource.QuotaSnapshots)},
		{"maxTotalVolumeGigabytes", limit(resource.QuotaGigabytes)},
		{"maxTotalBackups", limit(resource.QuotaBackups)},
		{"maxTotalBackupGigabytes", limit(resource.QuotaBackupGigabytes)},
		{"totalVolumesUsed", used(resource.QuotaVolumes)},
		{"totalGigabytesUsed", used(resource.QuotaGigabytes)},
		{"totalSnapshotsUsed", used(resource.QuotaSnapshots)},
		{"totalBackupsUsed", used(resource.QuotaBackups)},
		{"totalBackupGigabytesUsed", used(resource.QuotaBackupGigabytes)},
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"limits": quotaJSON{{"rate", []any{}}, {"absolute", abs}}})
	return nil
}

// quotaUsage is one resource of a quota set shown with its usage.
type quotaUsage struct {
	Limit    int64 `json:"limit"`
	InUse    int64 `json:"in_use"`
	Reserved int64 `json:"reserved"`
}

// quotaBody is {key: {resource: limit, …, "id": id}} in Cinder's order; with usage each
// resource is {limit, in_use, reserved}. id "" leaves it out (the answers of PUT).
func quotaBody(key string, qs resource.QuotaSet, usage bool, id string) map[string]any {
	set := make(quotaJSON, 0, len(qs)+1)
	for _, e := range qs {
		if usage {
			set = append(set, quotaMember{e.Resource, quotaUsage{Limit: e.Limit, InUse: e.InUse, Reserved: e.Reserved}})
		} else {
			set = append(set, quotaMember{e.Resource, e.Limit})
		}
	}
	if id != "" {
		set = append(set, quotaMember{"id", id})
	}
	return map[string]any{key: set}
}

// quotaMember is one key and value of an quotaJSON object.
type quotaMember struct {
	key string
	val any
}

// quotaJSON is a JSON object that keeps the order of its members, as Cinder's answers have it.
type quotaJSON []quotaMember

// MarshalJSON writes the members in order.
func (o quotaJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteString(", ")
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// quotaSetBody checks the shape of a PUT body: {"<key>": {…at least one member…}} and
// nothing else, as Cinder's update_quota and update_quota_class schemas do.
func quotaSetBody(body any, key string) (*wire.Object, *wire.Fault) {
	top, f := wire.RequireObject("", body)
	if f != nil {
		return nil, f
	}
	if f := wire.CheckAdditional("", top, key); f != nil {
		return nil, f
	}
	v, ok := top.Get(key)
	if !ok {
		return nil, wire.SchemaError("", top, wire.PyStrRepr(key)+" is a required property")
	}
	set, f := wire.RequireObject(key, v)
	if f != nil {
		return nil, f
	}
	if len(set.Keys) == 0 {
		return nil, wire.SchemaError(key, set, wire.PyRepr(set)+" does not have enough properties")
	}
	return set, nil
}

// quotaLimits validates the members of a quota set as Cinder's quota_set format does, in the
// order they were sent: each known resource needs an integer from -1 to 2147483647 (the
// first that is not answers at once); the unknown keys are then named together. Keys in
// ignore are skipped.
func quotaLimits(set *wire.Object, current resource.QuotaSet, what string, ignore []string) (map[string]int64, *wire.Fault) {
	limits := map[string]int64{}
	var bad []string
	for _, k := range set.Keys {
		if slices.Contains(ignore, k) {
			continue
		}
		if _, ok := current.Get(k); !ok {
			bad = append(bad, k)
			continue
		}
		n, f := quotaInteger(k, set.Vals[k])
		if f != nil {
			return nil, f
		}
		limits[k] = n
	}
	if len(bad) > 0 {
		return nil, wire.InvalidInput("Bad key(s) in %s: %s", what, strings.Join(bad, ", "))
	}
	return limits, nil
}

// quotaInteger is oslo's validate_integer(value, name, -1, MAX_INT): Python's int(str(v)),
// so an integer or a string of one (surrounding blanks allowed), not 1.0 nor true.
func quotaInteger(name string, v any) (int64, *wire.Fault) {
	var text string
	switch t := v.(type) {
	case json.Number:
		text = t.String()
	case string:
		text = strings.TrimSpace(t)
	}
	n, ok := new(big.Int).SetString(text, 10)
	if !ok || strings.ContainsAny(text, "eE.") {
		return 0, wire.BadRequest("%s must be an integer", name)
	}
	switch {
	case n.Cmp(big.NewInt(-1)) < 0:
		return 0, wire.BadRequest("%s must be >= -1", name)
	case n.Cmp(big.NewInt(wire.DBMaxInt)) > 0:
		return 0, wire.BadRequest("%s must be <= %d", name, wire.DBMaxInt)
	}
	return n.Int64(), nil
}

// quotaUpdateError words a refused update: a limit below usage is Cinder's 400.
func quotaUpdateError(err error) error {
	var below *resource.QuotaBelowUsageError
	if errors.As(err, &below) {
		return wire.BadRequest("%s", below.Error())
	}
	var nf *resource.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "QuotaResource" {
		// A volume type deleted between the check and the update.
		return wire.InvalidInput("Bad key(s) in quota set: %s", nf.ID)
	}
	return err
}
