package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// listParams is what a GET /volumes or /volumes/detail asks for.
type listParams struct {
	filter    resource.VolumeFilter
	empty     bool // a filter no volume can pass (a field Scoria never sets, an unknown key)
	withCount bool
}

// Microversions of the volume list's filters.
var (
	mvListBootable       = wire.Version{Major: 3, Minor: 2}
	mvListGlanceMetadata = wire.Version{Major: 3, Minor: 4}
	mvListGroup          = wire.Version{Major: 3, Minor: 10}
	mvResourceFilters    = wire.Version{Major: 3, Minor: 33}
	mvLikeFilter         = wire.Version{Major: 3, Minor: 34}
	mvTimeComparison     = wire.Version{Major: 3, Minor: 60}
)

// volumeFilterKeys is the default table of the volume list's filters (Cinder's default
// resource_filters.json, which Options.VolumeFilters replaces): what GET /resource_filters
// publishes for "volume" and what a non-admin may use from 3.31 on ("key~" there allows
// both key and key~ from 3.34, as Cinder's reject_invalid_filters); admins may also filter by
// any field of volumeFields.
var volumeFilterKeys = []string{"name", "status", "metadata", "bootable", "migration_status",
	"availability_zone", "group_id", "size", "created_at", "updated_at"}

// legacyVolumeFilterKeys are the filters a non-admin may use before 3.31 (Cinder's
// query_volume_filters); others are silently dropped there.
var legacyVolumeFilterKeys = []string{"name", "status", "metadata", "availability_zone", "bootable", "group_id"}

// filtersSince are filters that, before 3.31, are dropped below the microversion that added
// them (Cinder's MV_ADDED_FILTERS).
var filtersSince = map[string]wire.Version{
	"glance_metadata": mvListGlanceMetadata,
	"group_id":        mvListGroup,
	"created_at":      mvTimeComparison,
	"updated_at":      mvTimeComparison,
	"consumes_quota":  mvConsumesQuota,
}

// volumeFields are the volume columns a list filters (exactly, or with "~" by substring) and
// sorts by, under Cinder's names; the store knows the same.
var volumeFields = map[string]bool{
	"id": true, "display_name": true, "display_description": true, "status": true,
	"attach_status": true, "size": true, "availability_zone": true, "host": true, "user_id": true,
	"project_id": true, "volume_type_id": true, "bootable": true, "multiattach": true,
	"snapshot_id": true, "source_volid": true, "created_at": true, "updated_at": true,
	"group_id": true,
}

// providerFields are the driver's columns an admin's list filters (exactly, or with "~") but
// does not sort by.
var providerFields = map[string]bool{"provider_id": true, "provider_location": true}

// nullFields are volume columns Cinder has and Scoria never sets: an exact filter on one
// matches no volume.
var nullFields = map[string]bool{
	"migration_status": true, "consistencygroup_id": true, "replication_status": true,
	"encryption_key_id": true, "cluster_name": true,
	"service_uuid": true, "previous_status": true, "instance_uuid": true, "attached_host": true,
	"mountpoint": true, "scheduled_at": true, "launched_at": true, "terminated_at": true,
}

// listKeys are the query parameters of a list that are not filters.
var listKeys = map[string]bool{"limit": true, "marker": true, "offset": true, "sort": true, "sort_key": true, "sort_dir": true}

// filterParams returns the filters of q (the last value of each key), in order.
func filterParams(q wire.Query, skip map[string]bool) ([]string, map[string]string) {
	var keys []string
	vals := map[string]string{}
	for _, kv := range q {
		if skip[kv.Key] {
			continue
		}
		if _, seen := vals[kv.Key]; !seen {
			keys = append(keys, kv.Key)
		}
		vals[kv.Key] = kv.Value
	}
	return keys, vals
}

// parseListParams reads a volume list's query as Cinder's VolumeController._get_volumes does.
func (s *server) parseListParams(r *http.Request, q wire.Query) (*listParams, *wire.Fault) {
	ctx := r.Context()
	mv := wire.VersionOf(ctx)
	p := &listParams{}

	var f *wire.Fault
	if p.filter.Limit, f = wire.ParseLimit(q, s.maxLimit); f != nil {
		return nil, f
	}
	if p.filter.Offset, f = wire.ParseOffset(q); f != nil {
		return nil, f
	}
	sortKeys, f := parseSortParams(q)
	if f != nil {
		return nil, f
	}
	p.filter.Sort = sortKeys
	if m, ok := q.Get("marker"); ok {
		if !wire.IsUUIDLike(m) {
			return nil, wire.NotFound("Volume %s could not be found.", m)
		}
		p.filter.Marker = m
	}

	keys, vals := filterParams(q, listKeys)
	if _, ok := vals["with_count"]; ok && mv.AtLeast(mvCountInfo) {
		var f *wire.Fault
		if p.withCount, f = wire.ParseBoolParam("with_count", vals["with_count"]); f != nil {
			return nil, f
		}
		delete(vals, "with_count")
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == "with_count" })
	}
	if f := s.applyVolumeFilters(r, &p.filter, &p.empty, keys, vals, true); f != nil {
		return nil, f
	}
	return p, nil
}

// applyVolumeFilters turns the filters of a volume query into f (or empty, when no volume can
// match). general is the generalized filtering of lists from 3.31 (resource filters): a
// non-admin's unknown filter is then a 400 rather than dropped.
func (s *server) applyVolumeFilters(r *http.Request, f *resource.VolumeFilter, empty *bool, keys []string, vals map[string]string, general bool) *wire.Fault {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	general = general && mv.AtLeast(mvResourceFilter)

	if general {
		if !rc.IsAdmin {
			var invalid []string
			for _, k := range keys {
				ok := slices.Contains(s.volFilters, k)
				if mv.AtLeast(mvLikeFilter) {
					ok = ok || slices.Contains(s.volFilters, k+"~")
				}
				if !ok && k != "all_tenants" {
					invalid = append(invalid, k)
				}
			}
			if len(invalid) > 0 {
				return wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
			}
		}
	} else {
		keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool {
			if since, ok := filtersSince[k]; ok && !mv.AtLeast(since) {
				return true
			}
			return !rc.IsAdmin && !slices.Contains(legacyVolumeFilterKeys, k)
		})
	}

	allTenants := false
	if v, ok := vals["all_tenants"]; ok && rc.IsAdmin {
		var fault *wire.Fault
		if allTenants, fault = wire.ParseBoolParam("all_tenants", v); fault != nil {
			return fault
		}
	}
	f.ProjectID = rc.ProjectID
	if allTenants {
		f.ProjectID = vals["project_id"] // "" lists every project
	}

	for _, k := range keys {
		v := vals[k]
		switch k {
		case "all_tenants", "project_id":
			// Decided above: only an admin's all_tenants lifts the project scope.
		case "name", "display_name":
			setEqual(f, "display_name", v)
		case "description":
			setEqual(f, "display_description", v)
		case "bootable", "multiattach":
			b, fault := parseBoolFilter(k, v, mv.AtLeast(mvListBootable))
			if fault != nil {
				return fault
			}
			setEqual(f, k, strconv.FormatBool(b))
		case "size":
			if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
				*empty = true // an integer column never equals a string
			}
			setEqual(f, k, strings.TrimSpace(v))
		case "metadata", "glance_metadata":
			md, ok := parseDictFilter(v)
			if !ok {
				*empty = true // Cinder's database layer matches nothing with a bad dict
				continue
			}
			if k == "metadata" {
				f.Metadata = md
			} else {
				f.GlanceMetadata = md
			}
		case "volume_type":
			f.VolumeType = v
		case "consumes_quota", "use_quota":
			b, fault := wire.ParseBoolParam(k, v)
			if fault != nil {
				return fault
			}
			*empty = *empty || !b // every Scoria volume consumes quota
		case "created_at", "updated_at":
			tfs, fault := parseTimeFilter(k, v)
			if fault != nil {
				return fault
			}
			f.Times = append(f.Times, tfs...)
		default:
			switch {
			case strings.HasSuffix(k, "~"):
				if !mv.AtLeast(mvLikeFilter) {
					*empty = true
					continue
				}
				field := likeField(strings.TrimSuffix(k, "~"))
				if volumeFields[field] || providerFields[field] {
					if f.Like == nil {
						f.Like = map[string]string{}
					}
					f.Like[field] = v
				} else if nullFields[field] {
					*empty = true
				} // else: Cinder skips a LIKE filter on a column it does not have
			case volumeFields[k] && k != "created_at" && k != "updated_at", providerFields[k]:
				setEqual(f, k, v)
			default:
				// A column Scoria never sets, or no column at all: Cinder's database layer
				// returns no volume.
				*empty = true
			}
		}
	}
	return nil
}

func setEqual(f *resource.VolumeFilter, field, v string) {
	if f.Equal == nil {
		f.Equal = map[string]string{}
	}
	f.Equal[field] = v
}

// likeField maps the REST names of LIKE filters to columns (Cinder's ATTRIBUTE_CONVERTERS).
func likeField(k string) string {
	switch k {
	case "name":
		return "display_name"
	case "description":
		return "display_description"
	}
	return k
}

// parseBoolFilter reads a boolean filter: strictly from 3.2 (Cinder's InvalidInput
// otherwise), before that anything but a spelling of false is true.
func parseBoolFilter(key, v string, strict bool) (bool, *wire.Fault) {
	if strict {
		l := strings.ToLower(strings.TrimSpace(v))
		switch {
		case wire.IsTrue(l):
			return true, nil
		case wire.IsFalse(l):
			return false, nil
		}
		return false, wire.InvalidInput("'%s = %s'", key, v)
	}
	switch v {
	case "False", "false", "FALSE":
		return false, nil
	case "True", "true", "TRUE":
		return true, nil
	}
	return v != "", nil
}

// parseDictFilter reads a metadata filter: a JSON object of strings, or the Python dict
// literal python-cinderclient sends ({'k': 'v'}).
func parseDictFilter(v string) (map[string]string, bool) {
	var md map[string]string
	if err := json.Unmarshal([]byte(v), &md); err == nil && md != nil {
		return md, true
	}
	return parsePyDict(v)
}

// parsePyDict parses a flat Python dict literal of string keys and values.
func parsePyDict(v string) (map[string]string, bool) {
	s := strings.TrimSpace(v)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	md := map[string]string{}
	readStr := func() (string, bool) {
		s = strings.TrimSpace(s)
		if s == "" || (s[0] != '\'' && s[0] != '"') {
			return "", false
		}
		q := s[0]
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case c == q:
				s = s[i+1:]
				return b.String(), true
			default:
				b.WriteByte(c)
			}
		}
		return "", false
	}
	for strings.TrimSpace(s) != "" {
		k, ok := readStr()
		if !ok {
			return nil, false
		}
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, ":") {
			return nil, false
		}
		s = s[1:]
		val, ok := readStr()
		if !ok {
			return nil, false
		}
		md[k] = val
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		} else if s != "" {
			return nil, false
		}
	}
	return md, true
}

// timeOperators are Cinder's time comparison operators (3.60).
var timeOperators = []string{"gt", "gte", "eq", "neq", "lt", "lte"}

// parseTimeFilter reads created_at/updated_at: "op:time[,op:time…]", as Cinder's
// _handle_time_comparison_filters does.
func parseTimeFilter(key, v string) ([]resource.TimeFilter, *wire.Fault) {
	var out []resource.TimeFilter
	for _, unit := range strings.Split(v, ",") {
		op, at, found := strings.Cut(unit, ":")
		if !found {
			at = op
		}
		if !slices.Contains(timeOperators, op) {
			return nil, wire.BadRequest("Invalid %s operator", op)
		}
		t, ok := parseISOTime(at)
		if !ok {
			return nil, wire.BadRequest("Invalid %s value", at)
		}
		out = append(out, resource.TimeFilter{Field: key, Op: op, At: t})
	}
	return out, nil
}

// parseISOTime reads an ISO 8601 time as oslo's parse_isotime does; one without a zone is UTC.
func parseISOTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// sortFields are the REST names of sort keys that differ from the column.
var sortFields = map[string]string{"name": "display_name", "description": "display_description"}

// parseSortParams reads sort=key[:dir],… or the deprecated sort_key/sort_dir, as Cinder's
// get_sort_params and process_sort_params do.
func parseSortParams(q wire.Query) ([]resource.SortKey, *wire.Fault) {
	return parseSortSpec(q, func(field string) (string, bool) {
		if c, ok := sortFields[field]; ok {
			field = c
		}
		return field, volumeFields[field]
	})
}

// parseSortSpec reads sort (key:dir,…) or the legacy sort_key/sort_dir (wire.ParseSort).
func parseSortSpec(q wire.Query, column func(key string) (string, bool)) ([]resource.SortKey, *wire.Fault) {
	return wire.ParseSort(q, column)
}

// volumeList is the body of a volume list.
type volumeList struct {
	Volumes any      `json:"volumes"`
	Links   []link   `json:"volumes_links,omitempty"`
	Count   opt[int] `json:"count,omitzero"` // 3.45, with_count=true
}

// listVolumes is GET /volumes: id, name and links of each volume.
func (s *server) listVolumes(w http.ResponseWriter, r *http.Request) error {
	return s.list(w, r, false)
}

// listVolumesDetail is GET /volumes/detail: the detailed view of each volume.
func (s *server) listVolumesDetail(w http.ResponseWriter, r *http.Request) error {
	return s.list(w, r, true)
}

func (s *server) list(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	p, f := s.parseListParams(r, q)
	if f != nil {
		return f
	}
	var vols []*resource.Volume
	if !p.empty && p.filter.Limit > 0 {
		var err error
		if vols, err = s.store.ListVolumes(ctx, p.filter); err != nil {
			if p.filter.Marker != "" && errors.Is(err, resource.ErrNotFound) {
				// Cinder looks the marker up as a volume.
				err = &resource.NotFoundError{Kind: "Volume", ID: p.filter.Marker}
			}
			return err
		}
	}
	itemCount := len(vols)
	var count opt[int]
	if p.withCount {
		total := 0
		if !p.empty {
			var err error
			if total, err = s.store.CountVolumesMatching(ctx, p.filter); err != nil {
				return err
			}
		}
		count, itemCount = some(total), total
	}

	vw := newViewer(r)
	collection := "volumes"
	var items any
	if detail {
		collection = "volumes/detail"
		list, err := s.volumeDetails(ctx, vw, vols, true)
		if err != nil {
			return err
		}
		items = list
	} else {
		list := make([]volumeSummary, len(vols))
		for i, v := range vols {
			list[i] = vw.summary(v)
		}
		items = list
	}
	out := volumeList{Volumes: items, Count: count}
	// Cinder's rule: a next link when the page is as long as the limit allows.
	if len(vols) > 0 && p.filter.Limit <= itemCount {
		out.Links = vw.nextLink(collection, q, vols[len(vols)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}

type summaryView struct {
	TotalCount int                      `json:"total_count"`
	TotalSize  int                      `json:"total_size"`
	Metadata   opt[map[string][]string] `json:"metadata,omitzero"`
}

// summarizeVolumes is GET /volumes/summary (3.12): how many volumes, how many GiB, and (3.36)
// every metadata value in use per key.
func (s *server) summarizeVolumes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	mv := wire.VersionOf(ctx)
	if !mv.AtLeast(mvVolumeSummary) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	// Cinder's summary drops a non-admin's unknown filters at every version.
	var filter resource.VolumeFilter
	empty := false
	keys, vals := filterParams(q, nil)
	if f := s.applyVolumeFilters(r, &filter, &empty, keys, vals, false); f != nil {
		return f
	}
	var vols []*resource.Volume
	if !empty {
		var err error
		if vols, err = s.store.ListVolumes(ctx, filter); err != nil {
			return err
		}
	}
	sum := summaryView{TotalCount: len(vols)}
	md := map[string][]string{}
	for _, v := range vols {
		sum.TotalSize += v.Size
		for k, val := range v.Metadata {
			if !slices.Contains(md[k], val) {
				md[k] = append(md[k], val)
			}
		}
	}
	if mv.AtLeast(mvSummaryMetadata) {
		for _, vals := range md {
			sort.Strings(vals)
		}
		sum.Metadata = some(md)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"volume-summary": sum})
	return nil
}
