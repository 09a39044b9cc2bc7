package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// volumeField is a volume column a list may filter or sort by. expr is its SQL with %[1]s
// standing for the table alias; nullable columns are COALESCEd so that ordering and the
// marker's comparisons agree on both dialects (NULL sorts first, as ” does).
type volumeField struct {
	expr string
	kind fieldKind
}

type fieldKind int

const (
	fieldString fieldKind = iota
	fieldInt
	fieldBool
	fieldTime
)

// volumeFields are the fields of resource.VolumeFilter's Equal, Like and Sort.
var volumeFields = map[string]volumeField{
	"id":                  {"%[1]s.id", fieldString},
	"display_name":        {"COALESCE(%[1]s.display_name, '')", fieldString},
	"display_description": {"COALESCE(%[1]s.display_description, '')", fieldString},
	"status":              {"%[1]s.status", fieldString},
	"attach_status":       {"%[1]s.attach_status", fieldString},
	"size":                {"%[1]s.size", fieldInt},
	"availability_zone":   {"COALESCE(%[1]s.availability_zone, '')", fieldString},
	"host":                {"COALESCE(%[1]s.host, '')", fieldString},
	"user_id":             {"%[1]s.user_id", fieldString},
	"project_id":          {"%[1]s.project_id", fieldString},
	"volume_type_id":      {"COALESCE(%[1]s.volume_type_id, '')", fieldString},
	"bootable":            {"%[1]s.bootable", fieldBool},
	"multiattach":         {"%[1]s.multiattach", fieldBool},
	"snapshot_id":         {"COALESCE(%[1]s.snapshot_id, '')", fieldString},
	"source_volid":        {"COALESCE(%[1]s.source_volid, '')", fieldString},
	"group_id":            {"COALESCE(%[1]s.group_id, '')", fieldString},
	"provider_id":         {"COALESCE(%[1]s.provider_id, '')", fieldString},
	"provider_location":   {"COALESCE(%[1]s.provider_location, '')", fieldString},
	"created_at":          {"%[1]s.created_at", fieldTime},
	"updated_at":          {"COALESCE(%[1]s.updated_at, '')", fieldTime},
}

// timeOps are the comparisons of resource.TimeFilter.
var timeOps = map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}

// ListVolumes returns the volumes f selects, in f's order, with their metadata. f.Marker is
// the id of the last volume of the previous page; one that is not a visible volume (of
// f.ProjectID, when set) is a *resource.NotFoundError of kind "Marker". A field that lists
// cannot filter or sort by is an error (the API refuses such requests before they get here).
func (s *Store) ListVolumes(ctx context.Context, f resource.VolumeFilter) ([]*resource.Volume, error) {
	where, args, err := volumeWhere(f)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	keys, err := sortKeys(f.Sort)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	if f.Marker != "" {
		q := "SELECT 1 FROM volumes WHERE id = ? AND deleted = 0"
		qargs := []any{f.Marker}
		if f.ProjectID != "" {
			q, qargs = q+" AND project_id = ?", append(qargs, f.ProjectID)
		}
		var one int
		switch err := s.ro.QueryRowContext(ctx, q, qargs...).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, &resource.NotFoundError{Kind: "Marker", ID: f.Marker}
		case err != nil:
			return nil, fmt.Errorf("list volumes: read marker: %w", err)
		}
		cond, cargs := afterMarker(keys, f.Marker)
		where, args = append(where, cond), append(args, cargs...)
	}
	order := make([]string, len(keys))
	for i, k := range keys {
		order[i] = fmt.Sprintf(volumeFields[k.Field].expr, "v")
		if k.Desc {
			order[i] += " DESC"
		}
	}
	query := volumeSelect + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + strings.Join(order, ", ")
	switch {
	case f.Limit > 0:
		query, args = query+" LIMIT ?", append(args, f.Limit)
	case f.Offset > 0:
		query, args = query+" LIMIT ?", append(args, int64(1)<<62) // MySQL wants a LIMIT with OFFSET
	}
	if f.Offset > 0 {
		query, args = query+" OFFSET ?", append(args, f.Offset)
	}
	vols, err := queryVolumes(ctx, s.ro, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	return vols, nil
}

// CountVolumesMatching counts the volumes f selects, ignoring its marker, limit and offset.
func (s *Store) CountVolumesMatching(ctx context.Context, f resource.VolumeFilter) (int, error) {
	where, args, err := volumeWhere(f)
	if err != nil {
		return 0, fmt.Errorf("count volumes: %w", err)
	}
	var n int
	query := "SELECT COUNT(*) FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id WHERE " + strings.Join(where, " AND ")
	if err := s.ro.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count volumes: %w", err)
	}
	return n, nil
}

// volumeWhere is the WHERE of f's conditions, on volumes v joined with volume_types t.
func volumeWhere(f resource.VolumeFilter) ([]string, []any, error) {
	where := []string{"v.deleted = 0"}
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if f.ProjectID != "" {
		add("v.project_id = ?", f.ProjectID)
	}
	if f.Name != "" {
		add("v.display_name = ?", f.Name)
	}
	if f.Status != "" {
		add("v.status = ?", f.Status)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Equal)) {
		fld, ok := volumeFields[k]
		if !ok || fld.kind == fieldTime {
			return nil, nil, fmt.Errorf("cannot filter volumes by %q", k)
		}
		val := f.Equal[k]
		switch fld.kind {
		case fieldBool:
			b := 0
			if val == "true" {
				b = 1
			}
			add(fmt.Sprintf(fld.expr, "v")+" = ?", b)
		default:
			add(fmt.Sprintf(fld.expr, "v")+" = ?", val)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Like)) {
		fld, ok := volumeFields[k]
		if !ok {
			return nil, nil, fmt.Errorf("cannot filter volumes by %q", k)
		}
		add("LOWER("+fmt.Sprintf(fld.expr, "v")+") LIKE ? ESCAPE '!'", "%"+escapeLike(strings.ToLower(f.Like[k]))+"%")
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		add("(EXISTS (SELECT 1 FROM volume_metadata m WHERE m.volume_id = v.id AND m.`key` = ? AND m.`value` = ?)"+
			" OR EXISTS (SELECT 1 FROM volume_admin_metadata a WHERE a.volume_id = v.id AND a.`key` = ? AND a.`value` = ?))",
			k, f.Metadata[k], k, f.Metadata[k])
	}
	for _, k := range slices.Sorted(maps.Keys(f.GlanceMetadata)) {
		add("EXISTS (SELECT 1 FROM volume_glance_metadata g WHERE g.volume_id = v.id AND g.`key` = ? AND g.`value` = ?)",
			k, f.GlanceMetadata[k])
	}
	if f.VolumeType != "" {
		add("(v.volume_type_id = ? OR t.name = ?)", f.VolumeType, f.VolumeType)
	}
	for _, tf := range f.Times {
		op, ok := timeOps[tf.Op]
		if !ok || (tf.Field != "created_at" && tf.Field != "updated_at") {
			return nil, nil, fmt.Errorf("cannot compare volumes' %s with %q", tf.Field, tf.Op)
		}
		// A volume never updated has no updated_at, and matches no comparison of it.
		add("v."+tf.Field+" "+op+" ?", dbTime(tf.At))
	}
	return where, args, nil
}

// escapeLike escapes LIKE's wildcards (with '!', the ESCAPE character).
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// sortKeys completes a requested order as Cinder's process_sort_params does: created_at and
// id follow, in the direction of the first key (newest first when nothing is asked).
func sortKeys(req []resource.SortKey) ([]resource.SortKey, error) {
	keys := slices.Clone(req)
	desc := len(keys) == 0 || keys[0].Desc
	for _, k := range keys {
		if _, ok := volumeFields[k.Field]; !ok {
			return nil, fmt.Errorf("cannot sort volumes by %q", k.Field)
		}
	}
	for _, d := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(keys, func(k resource.SortKey) bool { return k.Field == d }) {
			keys = append(keys, resource.SortKey{Field: d, Desc: desc})
		}
	}
	return keys, nil
}

// afterMarker is the keyset condition "comes after the marker volume in this order": for
// keys k1..kn, (k1 beyond m1) OR (k1 = m1 AND k2 beyond m2) OR …, the marker's values read
// by subqueries so that they keep the column's own type on both dialects.
func afterMarker(keys []resource.SortKey, marker string) (string, []any) {
	var ors []string
	var args []any
	for i, k := range keys {
		var ands []string
		for _, prev := range keys[:i] {
			ands = append(ands, markerCompare(prev.Field, "="))
			args = append(args, marker)
		}
		op := ">"
		if k.Desc {
			op = "<"
		}
		ands = append(ands, markerCompare(k.Field, op))
		args = append(args, marker)
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

func markerCompare(field, op string) string {
	expr := volumeFields[field].expr
	return fmt.Sprintf(expr, "v") + " " + op + " (SELECT " + fmt.Sprintf(expr, "mk") + " FROM volumes mk WHERE mk.id = ?)"
}
