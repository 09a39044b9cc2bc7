package api

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// queryParam is one key=value of a query string; the order is kept for "next" links.
type queryParam struct{ key, value string }

type query []queryParam

func parseQuery(raw string) (query, *fault) {
	var q query
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, badRequest("Invalid query string %q.", raw)
		}
		q = append(q, queryParam{key, val})
	}
	return q, nil
}

// get returns the last value of key, as webob does.
func (q query) get(key string) (string, bool) {
	for i := len(q) - 1; i >= 0; i-- {
		if q[i].key == key {
			return q[i].value, true
		}
	}
	return "", false
}

// listParams is what a GET /volumes or /volumes/detail asks for.
type listParams struct {
	filter    resource.VolumeFilter
	empty     bool // a filter no volume can pass (another project without all_tenants)
	withCount bool
}

// Query parameters of volume lists that Scoria implements.
var listKeys = map[string]bool{
	"limit": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true,
	"all_tenants": true, "project_id": true, "name": true, "display_name": true, "status": true,
}

// parseListParams reads a volume list's query as Cinder does. Filters Scoria cannot apply
// are refused rather than ignored: an ignored filter would list volumes the client excluded.
func (s *server) parseListParams(r *http.Request, q query) (*listParams, *fault) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := versionOf(ctx)
	p := &listParams{}

	var unknown []string
	for _, kv := range q {
		if listKeys[kv.key] || (kv.key == "with_count" && mv.atLeast(mvCountInfo)) {
			continue
		}
		if !contains(unknown, kv.key) {
			unknown = append(unknown, kv.key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, badRequest("Invalid filters %s are found in query options. Scoria can filter volumes by name, status and project_id (with all_tenants) only; limit, marker and sort=created_at:desc page them.",
			strings.Join(unknown, ", "))
	}

	p.filter.Limit = s.maxLimit
	if v, ok := q.get("limit"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, badRequest("limit param must be an integer")
		}
		if n < 0 {
			return nil, badRequest("limit param must be positive")
		}
		p.filter.Limit = min(n, s.maxLimit)
	}
	if f := checkSortParams(q); f != nil {
		return nil, f
	}
	if m, _ := q.get("marker"); m != "" {
		if !isUUIDLike(m) {
			return nil, notFound("Volume %s could not be found.", m)
		}
		p.filter.Marker = m
	}

	allTenants := false
	if v, ok := q.get("all_tenants"); ok {
		var f *fault
		if allTenants, f = parseBoolParam("all_tenants", v); f != nil {
			return nil, f
		}
	}
	project, hasProject := q.get("project_id")
	switch {
	case allTenants && rc.IsAdmin:
		p.filter.ProjectID = project // "" lists every project
	default:
		p.filter.ProjectID = rc.ProjectID
		p.empty = hasProject && project != rc.ProjectID
	}
	if v, ok := q.get("name"); ok {
		p.filter.Name = v
	} else if v, ok := q.get("display_name"); ok {
		p.filter.Name = v
	}
	p.filter.Status, _ = q.get("status")
	if v, ok := q.get("with_count"); ok {
		var f *fault
		if p.withCount, f = parseBoolParam("with_count", v); f != nil {
			return nil, f
		}
	}
	return p, nil
}

// checkSortParams accepts the sort Scoria lists in, newest first (Cinder's default order),
// however it is spelled, and refuses any other.
func checkSortParams(q query) *fault {
	sortSpec, hasSort := q.get("sort")
	key, hasKey := q.get("sort_key")
	dir, hasDir := q.get("sort_dir")
	if hasSort && (hasKey || hasDir) {
		return badRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	// Effective "key:dir" pairs, with Cinder's defaults (created_at, desc) filled in.
	var orders []string
	if hasSort && strings.TrimSpace(sortSpec) != "" {
		for _, item := range strings.Split(sortSpec, ",") {
			k, d, _ := strings.Cut(item, ":")
			orders = append(orders, sortOrder(k, d))
		}
	} else {
		if strings.TrimSpace(key) == "" {
			key = "created_at"
		}
		orders = []string{sortOrder(key, dir)}
	}
	spec := strings.Join(orders, ",")
	if spec != "created_at:desc" && spec != "created_at:desc,id:desc" {
		return badRequest("Sorting volumes by %s is not supported by Scoria yet; volumes are listed newest first (sort=created_at:desc).", spec)
	}
	return nil
}

func sortOrder(key, dir string) string {
	dir = strings.ToLower(strings.TrimSpace(dir))
	if dir == "" {
		dir = "desc"
	}
	return strings.TrimSpace(key) + ":" + dir
}

// volumeList is the body of a volume list.
type volumeList struct {
	Volumes any      `json:"volumes"`
	Links   []link   `json:"volumes_links,omitempty"`
	Count   opt[int] `json:"count,omitzero"` // 3.45, with_count=true
}

// listVolumes is GET /volumes: id, name and links of each volume.
func (s *server) listVolumes(w http.ResponseWriter, r *http.Request) { s.list(w, r, false) }

// listVolumesDetail is GET /volumes/detail: the detailed view of each volume.
func (s *server) listVolumesDetail(w http.ResponseWriter, r *http.Request) { s.list(w, r, true) }

func (s *server) list(w http.ResponseWriter, r *http.Request, detail bool) {
	ctx := r.Context()
	q, f := parseQuery(r.URL.RawQuery)
	if f != nil {
		s.writeError(w, r, f)
		return
	}
	p, f := s.parseListParams(r, q)
	if f != nil {
		s.writeError(w, r, f)
		return
	}
	var vols []*resource.Volume
	if !p.empty && p.filter.Limit > 0 {
		var err error
		if vols, err = s.store.ListVolumes(ctx, p.filter); err != nil {
			if p.filter.Marker != "" && errors.Is(err, resource.ErrNotFound) {
				// Cinder looks the marker up as a volume.
				err = &resource.NotFoundError{Kind: "Volume", ID: p.filter.Marker}
			}
			s.writeError(w, r, err)
			return
		}
	}
	itemCount := len(vols)
	var count opt[int]
	if p.withCount {
		total := 0
		if !p.empty {
			all := p.filter
			all.Limit, all.Marker = 0, ""
			everything, err := s.store.ListVolumes(ctx, all)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			total = len(everything)
		}
		count, itemCount = some(total), total
	}

	vw := newViewer(r)
	collection := "volumes"
	var items any
	if detail {
		collection = "volumes/detail"
		list := make([]volumeDetail, len(vols))
		for i, v := range vols {
			list[i] = vw.detail(v, true)
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
	writeJSON(w, http.StatusOK, out)
}

type summaryView struct {
	TotalCount int                      `json:"total_count"`
	TotalSize  int                      `json:"total_size"`
	Metadata   opt[map[string][]string] `json:"metadata,omitzero"`
}

// summarizeVolumes is GET /volumes/summary (3.12): how many volumes, how many GiB, and (3.36)
// every metadata value in use per key.
func (s *server) summarizeVolumes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mv := versionOf(ctx)
	if !mv.atLeast(mvVolumeSummary) {
		s.writeError(w, r, notFound(msgResourceNotFound))
		return
	}
	rc := reqctx.From(ctx)
	filter := resource.VolumeFilter{ProjectID: rc.ProjectID}
	if v := r.URL.Query().Get("all_tenants"); v != "" {
		all, f := parseBoolParam("all_tenants", v)
		if f != nil {
			s.writeError(w, r, f)
			return
		}
		if all && rc.IsAdmin {
			filter.ProjectID = ""
		}
	}
	vols, err := s.store.ListVolumes(ctx, filter)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sum := summaryView{TotalCount: len(vols)}
	md := map[string][]string{}
	for _, v := range vols {
		sum.TotalSize += v.Size
		for k, val := range v.Metadata {
			if !contains(md[k], val) {
				md[k] = append(md[k], val)
			}
		}
	}
	if mv.atLeast(mvSummaryMetadata) {
		for _, vals := range md {
			sort.Strings(vals)
		}
		sum.Metadata = some(md)
	}
	writeJSON(w, http.StatusOK, map[string]any{"volume-summary": sum})
}
