package api

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// snapshotListParams is what a GET /snapshots or /snapshots/detail asks for.
type snapshotListParams struct {
	filter    resource.SnapshotFilter
	empty     bool // a filter no snapshot can pass (another project without all_tenants)
	withCount bool
}

// parseSnapshotListParams reads a snapshot list's query as Cinder does. Filters Scoria
// cannot apply are refused rather than ignored: an ignored filter would list snapshots the
// client excluded.
func (s *server) parseSnapshotListParams(r *http.Request, q wire.Query) (*snapshotListParams, *wire.Fault) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	p := &snapshotListParams{}

	known := map[string]bool{
		"limit": true, "offset": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true,
		"all_tenants": true, "project_id": true, "name": true, "display_name": true,
		"status": true, "volume_id": true, "metadata": true,
		"with_count": mv.AtLeast(mvCountInfo),
	}
	// LIKE filters (3.34) for admins, as Cinder: its default resource_filters.json gives
	// members none for snapshots.
	for _, k := range []string{"name~", "display_name~", "description~", "display_description~"} {
		known[k] = rc.IsAdmin && mv.AtLeast(mvLikeFilter)
	}
	var unknown []string
	for _, kv := range q {
		if !known[kv.Key] && !slices.Contains(unknown, kv.Key) {
			unknown = append(unknown, kv.Key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(unknown, ","))
	}

	var f *wire.Fault
	if p.filter.Limit, f = wire.ParseLimit(q, s.maxLimit); f != nil {
		return nil, f
	}
	if p.filter.Offset, f = wire.ParseOffset(q); f != nil {
		return nil, f
	}
	sorts, f := parseSnapshotSort(q, mv)
	if f != nil {
		return nil, f
	}
	p.filter.Sort = sorts
	p.filter.Marker, _ = q.Get("marker")

	allTenants := false
	if v, ok := q.Get("all_tenants"); ok {
		if allTenants, f = wire.ParseBoolParam("all_tenants", v); f != nil {
			return nil, f
		}
	}
	project, hasProject := q.Get("project_id")
	if allTenants && rc.IsAdmin {
		p.filter.ProjectID = project // "" lists every project
	} else {
		p.filter.ProjectID = rc.ProjectID
		p.empty = hasProject && project != rc.ProjectID
	}
	if v, ok := q.Get("name"); ok {
		p.filter.Name = v
	} else if v, ok := q.Get("display_name"); ok {
		p.filter.Name = v
	}
	for _, k := range []string{"name~", "display_name~"} {
		if v, ok := q.Get(k); ok {
			p.filter.NameLike = v
		}
	}
	for _, k := range []string{"description~", "display_description~"} {
		if v, ok := q.Get(k); ok {
			p.filter.DescriptionLike = v
		}
	}
	p.filter.Status, _ = q.Get("status")
	p.filter.VolumeID, _ = q.Get("volume_id")
	if v, ok := q.Get("metadata"); ok && mv.AtLeast(mvSnapshotMetaQuery) {
		md, ok := parseDictFilter(v)
		if !ok {
			return nil, wire.BadRequest("Invalid metadata filter %s: Scoria filters by a dict of string keys and values, such as {'key': 'value'}.", v)
		}
		p.filter.Metadata = md
	}
	if v, ok := q.Get("with_count"); ok {
		if p.withCount, f = wire.ParseBoolParam("with_count", v); f != nil {
			return nil, f
		}
	}
	return p, nil
}

// parseSnapshotSort reads sort (key:dir,…) or the legacy sort_key/sort_dir as Cinder's
// get_sort_params and process_sort_params do; "name" sorts by display_name from 3.30.
func parseSnapshotSort(q wire.Query, mv wire.Version) ([]resource.SnapshotSort, *wire.Fault) {
	spec, hasSort := q.Get("sort")
	key, hasKey := q.Get("sort_key")
	dir, hasDir := q.Get("sort_dir")
	if hasSort && spec != "" && ((hasKey && key != "") || (hasDir && dir != "")) {
		return nil, wire.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	var keys, dirs []string
	if hasSort && spec != "" {
		for _, item := range strings.Split(spec, ",") {
			k, d, hasD := strings.Cut(item, ":")
			keys = append(keys, strings.TrimSpace(k))
			if hasD {
				dirs = append(dirs, strings.ToLower(strings.TrimSpace(d)))
			}
		}
	} else {
		keys = []string{"created_at"}
		if hasKey {
			keys = []string{strings.TrimSpace(key)}
		}
		dirs = []string{"desc"}
		if hasDir {
			dirs = []string{strings.TrimSpace(dir)}
		}
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			return nil, wire.InvalidInput("Unknown sort direction, must be 'desc' or 'asc'.")
		}
	}
	if len(dirs) > len(keys) {
		return nil, wire.InvalidInput("Sort direction array size exceeds sort key array size.")
	}
	defaultDir := "asc"
	if len(dirs) > 0 {
		defaultDir = dirs[0]
	}
	out := make([]resource.SnapshotSort, len(keys))
	for i, k := range keys {
		if k == "name" && mv.AtLeast(mvSnapshotSort) {
			k = "display_name"
		}
		if !slices.Contains(resource.SnapshotSortKeys, k) {
			return nil, wire.InvalidInput("Invalid sort key")
		}
		d := defaultDir
		if i < len(dirs) {
			d = dirs[i]
		}
		out[i] = resource.SnapshotSort{Key: k, Desc: d == "desc"}
	}
	return out, nil
}

// snapshotList is the body of a snapshot list.
type snapshotList struct {
	Snapshots []snapshotView `json:"snapshots"`
	Links     []link         `json:"snapshots_links,omitempty"`
	Count     opt[int]       `json:"count,omitzero"` // 3.45, with_count=true
}

// listSnapshots is GET /snapshots: the summary view of each snapshot.
func (s *server) listSnapshots(w http.ResponseWriter, r *http.Request) error {
	return s.snapshotList(w, r, false)
}

// listSnapshotsDetail is GET /snapshots/detail: the detailed view of each snapshot.
func (s *server) listSnapshotsDetail(w http.ResponseWriter, r *http.Request) error {
	return s.snapshotList(w, r, true)
}

func (s *server) snapshotList(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	p, f := s.parseSnapshotListParams(r, q)
	if f != nil {
		return f
	}
	var snaps []*resource.Snapshot
	if !p.empty && p.filter.Limit > 0 {
		var err error
		if snaps, err = s.store.ListSnapshots(ctx, p.filter); err != nil {
			if errors.Is(err, resource.ErrInvalidState) {
				err = wire.InvalidInput("Invalid sort key")
			}
			return err
		}
	}
	itemCount := len(snaps)
	var count opt[int]
	if p.withCount {
		total := 0
		if !p.empty {
			var err error
			if total, err = s.store.CountSnapshots(ctx, p.filter); err != nil {
				return err
			}
		}
		count, itemCount = some(total), total
	}
	vw := newViewer(r)
	out := snapshotList{Snapshots: make([]snapshotView, len(snaps)), Count: count}
	collection := "snapshots"
	for i, sn := range snaps {
		if detail {
			out.Snapshots[i] = vw.snapshotDetail(sn, true)
		} else {
			out.Snapshots[i] = snapshotSummary(sn)
		}
	}
	if detail {
		collection = "snapshots/detail"
	}
	// Cinder's rule: a next link when the page is as long as the limit allows.
	if len(snaps) > 0 && p.filter.Limit <= itemCount {
		out.Links = vw.nextLink(collection, q, snaps[len(snaps)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}
