package api

import (
	"database/sql"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// allOps is every optional operation, as a backend with all of them reports them.
var allOps = []string{resource.OpSnapshot, resource.OpCreateFromSnapshot, resource.OpClone, resource.OpExtend, resource.OpRevert}

// setPoolOperations sets what the pools table knows of srcPool's operations, as a report
// would: nil is unknown (NULL).
func (e *env) setPoolOperations(ops []string) {
	e.t.Helper()
	var col any
	if ops != nil {
		col = strings.Join(ops, ",")
	}
	if _, err := e.raw.Exec("UPDATE pools SET operations = ? WHERE name = ?", col, srcPool); err != nil {
		e.t.Fatal(err)
	}
}

// dbState is what a refused request must not change: every row of the volumes, snapshots,
// outbox, quota usage and pools tables that the operations touch.
// outboxDrained waits (at most 10 s) until the outbox relay has deleted every row it
// delivered.
func (e *env) outboxDrained() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := e.raw.QueryRow("SELECT COUNT(*) FROM outbox").Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d outbox rows still there after 10 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) dbState() string {
	e.t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT id, status, size, COALESCE(host, ''), claimed_gb FROM volumes ORDER BY id",
		"SELECT id, status FROM snapshots ORDER BY id",
		"SELECT COUNT(*) FROM outbox",
		"SELECT project_id, resource, in_use, reserved FROM quota_usages ORDER BY project_id, resource",
		"SELECT name, allocated_gb FROM pools ORDER BY name",
		"SELECT COUNT(*) FROM messages",
	} {
		rows, err := e.raw.Query(q)
		if err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			for _, v := range vals {
				b.WriteString(string(v) + "|")
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

// TestBackendOperations: each optional operation is refused with a 400 naming the backend,
// before anything changes, when the pool holding the object is known not to support it;
// it goes through when the pool lists it, and when that is not known.
func TestBackendOperations(t *testing.T) {
	type op struct {
		name string
		op   string
		// prepare makes the object(s) on srcPool; it returns the request and the refusal
		// expected when the backend lacks the operation.
		prepare func(e *env) (call, string)
	}
	ops := []op{
		{name: "snapshot create", op: resource.OpSnapshot, prepare: func(e *env) (call, string) {
			vol := e.claimedVolume(1, resource.StatusAvailable, "")
			return call{method: "POST", path: "/v3/p1/snapshots", body: `{"snapshot": {"volume_id": "` + vol + `"}}`},
				"Invalid volume: the backend h@lvm of volume " + vol + " does not support snapshots."
		}},
		{name: "create from snapshot", op: resource.OpCreateFromSnapshot, prepare: func(e *env) (call, string) {
			src := e.claimedVolume(1, resource.StatusAvailable, "")
			snap := e.storedSnapshot(src, testProject, resource.SnapshotAvailable)
			return call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"snapshot_id": "` + snap + `"}}`},
				"Invalid snapshot: the backend h@lvm of snapshot " + snap + " does not support creating volumes from snapshots."
		}},
		{name: "clone", op: resource.OpClone, prepare: func(e *env) (call, string) {
			src := e.claimedVolume(1, resource.StatusAvailable, "")
			return call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"source_volid": "` + src + `", "size": 2}}`},
				"Invalid volume: the backend h@lvm of volume " + src + " does not support cloning volumes."
		}},
		{name: "os-extend", op: resource.OpExtend, prepare: func(e *env) (call, string) {
			vol := e.claimedVolume(1, resource.StatusAvailable, "")
			return call{method: "POST", path: "/v3/p1/volumes/" + vol + "/action", body: `{"os-extend": {"new_size": 3}}`},
				"Invalid volume: the backend h@lvm of volume " + vol + " does not support extending volumes."
		}},
		{name: "revert", op: resource.OpRevert, prepare: func(e *env) (call, string) {
			vol := e.claimedVolume(1, resource.StatusAvailable, "")
			snap := e.storedSnapshot(vol, testProject, resource.SnapshotAvailable)
			return call{method: "POST", path: "/v3/p1/volumes/" + vol + "/action", version: "volume 3.40",
					body: `{"revert": {"snapshot_id": "` + snap + `"}}`},
				"Invalid volume: the backend h@lvm of volume " + vol + " does not support reverting volumes to snapshots."
		}},
	}
	without := func(drop string) []string {
		return slices.DeleteFunc(slices.Clone(allOps), func(o string) bool { return o == drop })
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				ops     []string
				refused bool
			}{
				{name: "backend lacks it", ops: without(o.op), refused: true},
				{name: "backend has none", ops: []string{}, refused: true},
				{name: "backend has it", ops: allOps},
				{name: "backend has only it", ops: []string{o.op}},
				{name: "not known", ops: nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e := sourcesEnv(t)
					e.setPoolOperations(tc.ops)
					req, want := o.prepare(e)
					// The set-up's own messages are delivered, and their outbox rows deleted
					// by the relay, before the state is taken: that deletion is not the
					// refused request's doing.
					sent := len(e.disp.got())
					e.outboxDrained()
					before := e.dbState()
					rec := e.do(req)
					if !tc.refused {
						wantStatus(t, rec, http.StatusAccepted)
						return
					}
					wantFault(t, rec, http.StatusBadRequest, "badRequest", want)
					if after := e.dbState(); after != before {
						t.Errorf("a refused %s changed the database:\nbefore\n%s\nafter\n%s", o.name, before, after)
					}
					if got := len(e.disp.got()); got != sent {
						t.Errorf("a refused %s dispatched %d messages", o.name, got-sent)
					}
				})
			}
		})
	}
}

// TestBackendOperationsNoPoolRow: a pool that has not reported yet (no row) is not known to
// lack anything: its volumes' operations go through, as before capabilities were recorded.
func TestBackendOperationsNoPoolRow(t *testing.T) {
	e := newEnv(t)
	vol := e.placedVolume("")
	sn := e.createSnapshot(vol, "")
	e.snapStatus(sn, resource.SnapshotAvailable)
	wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/volumes/" + vol + "/action", version: "volume 3.40",
		body: `{"revert": {"snapshot_id": "` + sn + `"}}`}), http.StatusAccepted)
}
