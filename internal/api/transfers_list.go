package api

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

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
func (s *server) parseTransferPage(r *http.Request, col string) (*transferPage, *wire.Fault) {
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
	if p.sort, f = parseSortSpec(q, func(k string) (string, bool) {
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
