package fault

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

const gib = int64(1) << 30

// check waits (up to cfg.Settle) until nothing is in a transitional status and the outbox is
// empty, then checks the invariants and records every violation in rep:
//
//   - every accepted request reached a terminal state: its row exists; a delete ended deleted
//     (or error_deleting); an extend reached its size (or error_extending); a transfer moved
//     the volume;
//   - no volume, snapshot or attachment is in a transitional status, and no message waits in
//     the outbox;
//   - a volume is in-use exactly when it has an attached attachment;
//   - each project's quota usage (the quota_usages rows and GET os-quota-sets?usage=true)
//     equals what its rows use: volumes, gigabytes (volumes and snapshots), snapshots, and the
//     same per volume type;
//   - each pool's allocated_gb equals the claims of its volumes, each claim equals its volume's
//     size (an errored volume holds none), and get_pools reports the same allocated capacity;
//   - each backend directory holds exactly the files the database names: a file for every
//     live volume and available snapshot placed there, of the volume's size, and nothing else
//     (no orphan, no partial file).
func check(ctx context.Context, t Target, cfg Config, rep *Report, projects []string) {
	stuck := settle(ctx, t, cfg)
	for _, s := range stuck {
		rep.violation("after %s of settling: %s", cfg.Settle, s)
	}
	if err := t.CheckProcesses(); err != nil {
		rep.violation("a process died by itself: %v", err)
	}
	db := t.DB
	checkAccepted(ctx, db, rep)
	checkAttachState(ctx, db, rep)
	checkQuotas(ctx, t, rep, projects)
	checkPools(ctx, t, cfg, rep)
	checkBackends(ctx, t, rep)
	rep.Final = finalCounts(ctx, db)
}

// settle polls until no object is transitional and the outbox is empty, and returns what is
// still stuck when cfg.Settle has passed.
func settle(ctx context.Context, t Target, cfg Config) []string {
	var last []string
	err := cluster.Poll(ctx, cfg.Settle, 500*time.Millisecond, func() (bool, string, error) {
		if err := t.CheckProcesses(); err != nil {
			return false, "", err
		}
		var err error
		last, err = unsettled(ctx, t.DB)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(last) == 0, fmt.Sprintf("%d unsettled: %s", len(last), strings.Join(first(last, 5), "; ")), nil
	})
	if err == nil {
		return nil
	}
	if len(last) == 0 {
		return []string{err.Error()}
	}
	return last
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}

func inList(list []string) string {
	return "('" + strings.Join(list, "','") + "')"
}

// unsettled lists the objects in a transitional status and the outbox rows.
func unsettled(ctx context.Context, db *sql.DB) ([]string, error) {
	var out []string
	queries := []struct{ what, query string }{
		{"volume", "SELECT id, project_id, status, COALESCE(host, '') FROM volumes WHERE deleted = 0 AND status IN " + inList(VolumeTransitional)},
		{"snapshot", "SELECT id, project_id, status, volume_id FROM snapshots WHERE deleted = 0 AND status IN " + inList(SnapshotTransitional)},
		{"attachment", "SELECT id, project_id, attach_status, volume_id FROM volume_attachment WHERE deleted = 0 AND attach_status IN " + inList(AttachmentTransitional)},
		{"outbox message", "SELECT CAST(id AS CHAR), topic, method, server FROM outbox"},
	}
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, q.query)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.query, err)
		}
		for rows.Next() {
			var a, b, c, d string
			if err := rows.Scan(&a, &b, &c, &d); err != nil {
				rows.Close()
				return nil, err
			}
			switch q.what {
			case "volume":
				out = append(out, fmt.Sprintf("volume %s of %s stuck %s (host %q)", a, b, c, d))
			case "snapshot":
				out = append(out, fmt.Sprintf("snapshot %s of %s stuck %s (volume %s)", a, b, c, d))
			case "attachment":
				out = append(out, fmt.Sprintf("attachment %s of %s stuck %s (volume %s)", a, b, c, d))
			default:
				out = append(out, fmt.Sprintf("outbox message %s %s to %s/%s never delivered", a, c, b, d))
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkAccepted checks that each accepted request reached its terminal state.
func checkAccepted(ctx context.Context, db *sql.DB, rep *Report) {
	for _, a := range rep.accepted {
		switch a.kind {
		case "create", "extend", "delete", "transfer":
			var deleted bool
			var status, project string
			var size int
			err := db.QueryRowContext(ctx, "SELECT deleted, status, size, project_id FROM volumes WHERE id = ?", a.id).Scan(&deleted, &status, &size, &project)
			if err != nil {
				rep.violation("accepted %s of volume %s: no row (%v)", a.kind, a.id, err)
				continue
			}
			switch {
			case a.kind == "delete" && !deleted && status != "error_deleting":
				rep.violation("accepted delete of volume %s: the volume is still there, %s", a.id, status)
			case a.kind == "delete" && status == "error_deleting":
				rep.op("delete", "ended-error_deleting")
			case a.kind == "extend" && !deleted && status != "error_extending" && size < a.size:
				rep.violation("accepted extend of volume %s to %d GiB: size %d, status %s", a.id, a.size, size, status)
			case a.kind == "extend" && status == "error_extending":
				rep.op("extend", "ended-error_extending")
			case a.kind == "create" && status == "error":
				rep.op("create", "ended-error")
			case a.kind == "transfer":
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM transfers WHERE volume_id = ? AND accepted = 1 AND destination_project_id = ?",
					a.id, a.project).Scan(&n); err != nil || n == 0 {
					rep.violation("accepted transfer of volume %s to %s: no accepted transfer row (%v)", a.id, a.project, err)
				}
			}
		case "snapshot", "snapshot-delete":
			var deleted bool
			var status string
			err := db.QueryRowContext(ctx, "SELECT deleted, status FROM snapshots WHERE id = ?", a.id).Scan(&deleted, &status)
			if err != nil {
				rep.violation("accepted %s of snapshot %s: no row (%v)", a.kind, a.id, err)
				continue
			}
			if a.kind == "snapshot-delete" && !deleted && status != "error_deleting" {
				rep.violation("accepted delete of snapshot %s: still there, %s", a.id, status)
			}
		case "attach", "detach":
			var deleted bool
			var status string
			err := db.QueryRowContext(ctx, "SELECT deleted, attach_status FROM volume_attachment WHERE id = ?", a.id).Scan(&deleted, &status)
			if err != nil {
				rep.violation("accepted %s of attachment %s: no row (%v)", a.kind, a.id, err)
				continue
			}
			if a.kind == "detach" && !deleted {
				rep.violation("accepted detach of attachment %s: still there, %s", a.id, status)
			}
		}
	}
}

// checkAttachState checks that a volume is in-use exactly when it has an attached attachment.
func checkAttachState(ctx context.Context, db *sql.DB, rep *Report) {
	rows, err := db.QueryContext(ctx, `SELECT v.id, v.status, v.attach_status,
		(SELECT COUNT(*) FROM volume_attachment a WHERE a.volume_id = v.id AND a.deleted = 0 AND a.attach_status = 'attached')
		FROM volumes v WHERE v.deleted = 0`)
	if err != nil {
		rep.violation("read volumes: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, status, attach string
		var attached int
		if err := rows.Scan(&id, &status, &attach, &attached); err != nil {
			rep.violation("read volumes: %v", err)
			return
		}
		if (status == "in-use") != (attached > 0) {
			rep.violation("volume %s is %s (attach_status %s) with %d attached attachments", id, status, attach, attached)
		}
	}
}

// usage is what a project's rows use, by quota resource.
func rowUsage(ctx context.Context, db *sql.DB) (map[string]map[string]int64, error) {
	use := map[string]map[string]int64{}
	add := func(project, res string, n int64) {
		if use[project] == nil {
			use[project] = map[string]int64{}
		}
		use[project][res] += n
	}
	for _, q := range []struct{ kind, query string }{
		{"volumes", "SELECT v.project_id, v.size, COALESCE(t.name, '') FROM volumes v LEFT JOIN volume_types t ON t.id = v.volume_type_id WHERE v.deleted = 0"},
		{"snapshots", "SELECT s.project_id, s.volume_size, COALESCE(t.name, '') FROM snapshots s LEFT JOIN volume_types t ON t.id = s.volume_type_id WHERE s.deleted = 0"},
	} {
		rows, err := db.QueryContext(ctx, q.query)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var project, typ string
			var size int64
			if err := rows.Scan(&project, &size, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			add(project, q.kind, 1)
			add(project, "gigabytes", size)
			if typ != "" {
				add(project, q.kind+"_"+typ, 1)
				add(project, "gigabytes_"+typ, size)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return use, nil
}

// checkQuotas compares each project's quota usage, in the table and as the API shows it, with
// what its rows use.
func checkQuotas(ctx context.Context, t Target, rep *Report, projects []string) {
	want, err := rowUsage(ctx, t.DB)
	if err != nil {
		rep.violation("read the rows' usage: %v", err)
		return
	}
	have := map[string]map[string]int64{}
	rows, err := t.DB.QueryContext(ctx, "SELECT project_id, resource, in_use, reserved FROM quota_usages")
	if err != nil {
		rep.violation("read quota_usages: %v", err)
		return
	}
	for rows.Next() {
		var project, res string
		var inUse, reserved int64
		if err := rows.Scan(&project, &res, &inUse, &reserved); err != nil {
			rows.Close()
			rep.violation("read quota_usages: %v", err)
			return
		}
		if reserved != 0 {
			rep.violation("quota_usages %s %s: reserved %d, want 0", project, res, reserved)
		}
		if have[project] == nil {
			have[project] = map[string]int64{}
		}
		have[project][res] = inUse
	}
	rows.Close()
	all := map[string]bool{}
	for _, p := range projects {
		all[p] = true
	}
	for p := range want {
		all[p] = true
	}
	for p := range have {
		all[p] = true
	}
	for p := range all {
		keys := map[string]bool{}
		for r := range want[p] {
			keys[r] = true
		}
		for r := range have[p] {
			keys[r] = true
		}
		for r := range keys {
			if want[p][r] != have[p][r] {
				rep.violation("quota usage of %s: %s in_use %d in quota_usages, its rows use %d", p, r, have[p][r], want[p][r])
			}
		}
		// What a client sees: GET os-quota-sets/{p}?usage=true (as an admin).
		admin := blockstorage.New(t.Endpoint, p)
		admin.HTTP = t.HTTP
		resp, err := admin.Do(ctx, http.MethodGet, "/os-quota-sets/"+p+"?usage=true", nil, nil)
		if err != nil || resp.Status != http.StatusOK {
			rep.violation("GET os-quota-sets/%s?usage=true: %v %+v", p, err, resp)
			continue
		}
		var qs struct {
			QuotaSet map[string]json.RawMessage `json:"quota_set"`
		}
		if err := json.Unmarshal(resp.Body, &qs); err != nil {
			rep.violation("GET os-quota-sets/%s?usage=true: %v", p, err)
			continue
		}
		for r, raw := range qs.QuotaSet {
			var u struct {
				InUse    *int64 `json:"in_use"`
				Reserved int64  `json:"reserved"`
			}
			if json.Unmarshal(raw, &u) != nil || u.InUse == nil {
				continue // "id", or a resource without usage
			}
			if *u.InUse != want[p][r] || u.Reserved != 0 {
				rep.violation("GET os-quota-sets/%s?usage=true: %s in_use %d reserved %d, its rows use %d", p, r, *u.InUse, u.Reserved, want[p][r])
			}
		}
	}
}

// checkPools compares each pool's allocated_gb with its volumes' claims, each claim with its
// volume's size, and get_pools' allocated_capacity_gb with the same sum.
func checkPools(ctx context.Context, t Target, cfg Config, rep *Report) {
	rows, err := t.DB.QueryContext(ctx, "SELECT id, status, size, claimed_gb, COALESCE(host, '') FROM volumes WHERE deleted = 0")
	if err != nil {
		rep.violation("read volumes: %v", err)
		return
	}
	sizes := map[string]int64{}
	claims := map[string]int64{}
	for rows.Next() {
		var id, status, host string
		var size, claimed int64
		if err := rows.Scan(&id, &status, &size, &claimed, &host); err != nil {
			rows.Close()
			rep.violation("read volumes: %v", err)
			return
		}
		want := size
		if status == "error" || host == "" {
			want = 0
		}
		if claimed != want {
			rep.violation("volume %s (%s, %d GiB, host %q) claims %d GiB of its pool, want %d", id, status, size, host, claimed, want)
		}
		sizes[host] += want
		claims[host] += claimed
	}
	rows.Close()
	prow, err := t.DB.QueryContext(ctx, "SELECT name, allocated_gb FROM pools")
	if err != nil {
		rep.violation("read pools: %v", err)
		return
	}
	pools := map[string]int64{}
	for prow.Next() {
		var name string
		var alloc int64
		if err := prow.Scan(&name, &alloc); err != nil {
			prow.Close()
			rep.violation("read pools: %v", err)
			return
		}
		pools[name] = alloc
		if alloc != claims[name] || alloc != sizes[name] {
			rep.violation("pool %s: allocated_gb %d, its volumes claim %d and their sizes sum to %d", name, alloc, claims[name], sizes[name])
		}
	}
	prow.Close()
	for host, n := range sizes {
		if _, ok := pools[host]; !ok && host != "" && n != 0 {
			rep.violation("volumes of %d GiB are placed on %s, which has no pools row", n, host)
		}
	}
	// get_pools reports what the backends last said (every periodic_interval): poll.
	admin := blockstorage.New(t.Endpoint, "admin")
	admin.HTTP = t.HTTP
	var last string
	err = cluster.Poll(ctx, cfg.PoolsWait, time.Second, func() (bool, string, error) {
		resp, err := admin.Do(ctx, http.MethodGet, "/scheduler-stats/get_pools?detail=true", nil, nil)
		if err != nil || resp.Status != http.StatusOK {
			return false, fmt.Sprintf("get_pools: %v %+v", err, resp), nil
		}
		var gp struct {
			Pools []struct {
				Name string `json:"name"`
				Caps struct {
					Allocated float64 `json:"allocated_capacity_gb"`
				} `json:"capabilities"`
			} `json:"pools"`
		}
		if err := json.Unmarshal(resp.Body, &gp); err != nil {
			return false, err.Error(), nil
		}
		var diffs []string
		for _, p := range gp.Pools {
			if int64(p.Caps.Allocated) != sizes[p.Name] {
				diffs = append(diffs, fmt.Sprintf("%s allocated_capacity_gb %g, its volumes %d GiB", p.Name, p.Caps.Allocated, sizes[p.Name]))
			}
		}
		last = strings.Join(diffs, "; ")
		return len(diffs) == 0 && len(gp.Pools) > 0, last, nil
	})
	if err != nil {
		rep.violation("get_pools: %v", err)
	}
}

// checkBackends compares each backend directory with the rows that name objects on it.
func checkBackends(ctx context.Context, t Target, rep *Report) {
	type row struct {
		status  string
		size    int64
		backend string
		deleted bool
	}
	vols := map[string]row{}
	rows, err := t.DB.QueryContext(ctx, "SELECT id, status, size, COALESCE(host, ''), deleted FROM volumes")
	if err != nil {
		rep.violation("read volumes: %v", err)
		return
	}
	for rows.Next() {
		var id, host string
		var r row
		if err := rows.Scan(&id, &r.status, &r.size, &host, &r.deleted); err != nil {
			rows.Close()
			rep.violation("read volumes: %v", err)
			return
		}
		r.backend, _, _ = strings.Cut(host, "#")
		vols[id] = r
	}
	rows.Close()
	snaps := map[string]row{}
	rows, err = t.DB.QueryContext(ctx, "SELECT s.id, s.status, s.volume_size, COALESCE(v.host, ''), s.deleted FROM snapshots s LEFT JOIN volumes v ON v.id = s.volume_id")
	if err != nil {
		rep.violation("read snapshots: %v", err)
		return
	}
	for rows.Next() {
		var id, host string
		var r row
		if err := rows.Scan(&id, &r.status, &r.size, &host, &r.deleted); err != nil {
			rows.Close()
			rep.violation("read snapshots: %v", err)
			return
		}
		r.backend, _, _ = strings.Cut(host, "#")
		snaps[id] = r
	}
	rows.Close()

	backends := make([]string, 0, len(t.Backends))
	for b := range t.Backends {
		backends = append(backends, b)
	}
	sort.Strings(backends)
	for _, backend := range backends {
		dir := t.Backends[backend]
		entries, err := os.ReadDir(dir)
		if err != nil {
			rep.violation("backend %s: %v", backend, err)
			continue
		}
		present := map[string]int64{}
		for _, e := range entries {
			name := e.Name()
			info, err := e.Info()
			if err != nil {
				rep.violation("backend %s: %s: %v", backend, name, err)
				continue
			}
			present[name] = info.Size()
			vid, isVol := strings.CutPrefix(name, "volume-")
			sid, isSnap := strings.CutPrefix(name, "snapshot-")
			switch {
			case strings.HasSuffix(name, ".partial"):
				rep.violation("backend %s: partial file %s left behind", backend, name)
			case isVol:
				r, ok := vols[vid]
				switch {
				case !ok:
					rep.violation("backend %s: orphan %s: no volume row names it", backend, name)
				case r.deleted:
					rep.violation("backend %s: orphan %s: its volume was deleted (%s)", backend, name, r.status)
				case r.backend != backend:
					rep.violation("backend %s: orphan %s: its volume is placed on %q", backend, name, r.backend)
				case r.status != "error" && info.Size() != r.size*gib:
					rep.violation("backend %s: %s is %d bytes, its volume (%s) %d GiB", backend, name, info.Size(), r.status, r.size)
				}
			case isSnap:
				r, ok := snaps[sid]
				switch {
				case !ok:
					rep.violation("backend %s: orphan %s: no snapshot row names it", backend, name)
				case r.deleted:
					rep.violation("backend %s: orphan %s: its snapshot was deleted (%s)", backend, name, r.status)
				case r.backend != backend:
					rep.violation("backend %s: orphan %s: its snapshot's volume is on %q", backend, name, r.backend)
				}
			default:
				rep.violation("backend %s: unexpected file %s", backend, name)
			}
		}
		for id, r := range vols {
			if !r.deleted && r.backend == backend && (r.status == "available" || r.status == "in-use" || r.status == "error_extending") {
				if _, ok := present["volume-"+id]; !ok {
					rep.violation("backend %s: volume %s is %s but its file is gone", backend, id, r.status)
				}
			}
		}
		for id, r := range snaps {
			if !r.deleted && r.backend == backend && r.status == "available" {
				if _, ok := present["snapshot-"+id]; !ok {
					rep.violation("backend %s: snapshot %s is available but its file is gone", backend, id)
				}
			}
		}
	}
}

// finalCounts summarises the live rows by status.
func finalCounts(ctx context.Context, db *sql.DB) string {
	var parts []string
	for _, q := range []struct{ what, query string }{
		{"volumes", "SELECT status, COUNT(*) FROM volumes WHERE deleted = 0 GROUP BY status"},
		{"snapshots", "SELECT status, COUNT(*) FROM snapshots WHERE deleted = 0 GROUP BY status"},
		{"attachments", "SELECT attach_status, COUNT(*) FROM volume_attachment WHERE deleted = 0 GROUP BY attach_status"},
		{"deleted volumes", "SELECT status, COUNT(*) FROM volumes WHERE deleted = 1 GROUP BY status"},
	} {
		rows, err := db.QueryContext(ctx, q.query)
		if err != nil {
			parts = append(parts, q.what+": "+err.Error())
			continue
		}
		var counts []string
		for rows.Next() {
			var s string
			var n int
			if rows.Scan(&s, &n) == nil {
				counts = append(counts, fmt.Sprintf("%s=%d", s, n))
			}
		}
		rows.Close()
		sort.Strings(counts)
		parts = append(parts, q.what+": "+strings.Join(counts, " "))
	}
	return strings.Join(parts, "; ")
}
