package api

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/volume"
	"github.com/scoria/scoria/pkg/driver"
)

// Fuzz targets of the API's request framework: the body decoder, list queries, microversion
// headers and the volume action dispatcher, the last three through the real handler on
// SQLite. Their invariants: no panic; no 5xx; an answer to every input before fuzzRequestLimit
// (each request's context ends then, and a handler cut off by it answers 5xx, so a slow input
// fails as a 5xx); after a 4xx, the database holds what it held before. Seed corpora are in
// testdata/fuzz/<target>/; `make fuzz` runs each target for a bounded time.

// fuzzRequestLimit bounds one request of a fuzz input.
const fuzzRequestLimit = 10 * time.Second

// fuzzDo sends one request to e's handler with a deadline, checks the headers every answer
// carries, and fails on a 5xx.
func fuzzDo(t *testing.T, e *env, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzRequestLimit)
	defer cancel()
	req := httptest.NewRequest(method, "/", strings.NewReader(body)).WithContext(ctx)
	req.URL = &url.URL{Path: path}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		req.URL = &url.URL{Path: path[:i], RawQuery: path[i+1:]}
	}
	req.RequestURI = req.URL.RequestURI()
	req.Host = testHost
	req.Header.Set("X-Auth-Token", testUser+":"+testProject)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	checkCommonHeaders(t, rec)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q (headers %q): %d %s", method, path, body, header, rec.Code, rec.Body)
	}
	return rec
}

// fuzzVersions are the microversions the fuzz targets of the handler pick from.
var fuzzVersions = []string{"", "volume 3.0", "volume 3.2", "volume 3.27", "volume 3.31", "volume 3.34", "volume 3.42",
	"volume 3.45", "volume 3.59", "volume 3.60", "volume 3.66", "volume latest"}

// fuzzLists are the list endpoints FuzzListQuery queries.
var fuzzLists = []string{"volumes", "volumes/detail", "volumes/summary", "snapshots", "snapshots/detail"}

// fuzzEnv is an API on SQLite, with a real volume service (local files) on the in-process
// bus behind its connection calls, and a few volumes and snapshots of two projects.
func fuzzEnv(f *testing.F) (*env, driver.Driver) {
	bus := rpc.NewLocal(logrus.New())
	f.Cleanup(func() { bus.Close() })
	conns := &RPCConnections{Transport: bus, Timeout: 5 * time.Second}
	e := newEnv(f, func(o *Options) { o.Connections = conns })
	e.attachConns = conns
	drv := &localfile.Driver{Dir: filepath.Join(f.TempDir(), "vols"), BackendName: "file", PoolName: "file"}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	if err := drv.Setup(ctx); err != nil {
		f.Fatal(err)
	}
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	m := &volume.Manager{Host: attachHost, Driver: drv, Store: e.store, Transport: bus, Log: quiet}
	go bus.Serve(ctx, rpc.Target{Topic: rpc.TopicVolume, Server: attachHost}, m.Handle) //nolint:errcheck // ends with ctx
	for i, proj := range []string{testProject, testProject, "p2"} {
		body := fmt.Sprintf(`{"volume": {"size": %d, "name": "vol-%d", "metadata": {"k": "v%d"}}}`, i+1, i, i)
		rec := e.do(call{method: "POST", path: "/v3/" + proj + "/volumes", body: body, token: "u:" + proj})
		wantStatus(f, rec, http.StatusAccepted)
		id := str(f, obj(f, rec), "volume", "id")
		placeOnFile(f, e, drv, id)
		rec = e.do(call{method: "POST", path: "/v3/" + proj + "/snapshots", token: "u:" + proj,
			body: `{"snapshot": {"volume_id": "` + id + `", "name": "snap-` + id[:4] + `"}}`})
		wantStatus(f, rec, http.StatusAccepted)
	}
	return e, drv
}

// placeOnFile does what the scheduler and the volume service do for a new volume: its
// storage on the local-file backend, its host, available.
func placeOnFile(t testing.TB, e *env, drv driver.Driver, id string) {
	t.Helper()
	ctx := context.Background()
	host := attachHost + "#file"
	if _, err := drv.Create(ctx, driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: 1, Pool: "file"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.TransitionVolume(ctx, id, []string{resource.StatusCreating},
		resource.VolumeChange{Status: resource.StatusAvailable, Host: &host}); err != nil {
		t.Fatal(err)
	}
}

func FuzzListQuery(f *testing.F) {
	for _, q := range []string{"", "limit=1", "limit=1&marker=00000000-0000-0000-0000-000000000000", "offset=1&limit=2",
		"sort=name:asc,size:desc", "sort_key=size&sort_dir=desc", "name~=vol", "status=available&metadata={'k':'v0'}",
		"all_tenants=1&project_id=p2", "with_count=true", "created_at=gt:2020-01-01T00:00:00", "limit=-1",
		"limit=99999999999999999999", "offset=1e3", "bootable=maybe", "sort=%00", "metadata=%ff%fe", "name=%C0%AF"} {
		f.Add(uint8(0), uint8(len(fuzzVersions)-1), false, q)
		f.Add(uint8(3), uint8(5), true, q)
	}
	e, _ := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, list, version uint8, member bool, query string) {
		path := "/v3/" + testProject + "/" + fuzzLists[int(list)%len(fuzzLists)] + "?" + query
		h := map[string]string{"OpenStack-API-Version": fuzzVersions[int(version)%len(fuzzVersions)]}
		if member {
			h["X-Roles"] = "member,reader"
		}
		rec := fuzzDo(t, e, http.MethodGet, path, "", h)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound && rec.Code != http.StatusForbidden {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	})
}

func FuzzMicroversion(f *testing.F) {
	for _, h := range []string{"", "volume 3.0", "volume 3.70", "volume latest", "volume 3.71", "volume 4.0", "volume 3.",
		"volume 3.01", "volume 03.5", "volume  3.5", "compute 2.1, volume 3.27", "volume 3.99999999999999999999",
		"volume -3.5", "VOLUME 3.5", "volume 3.5\x00", "volume \xff"} {
		f.Add(h, "")
		f.Add("", strings.TrimPrefix(h, "volume "))
	}
	e, _ := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, header, legacy string) {
		h := map[string]string{}
		if header != "" {
			h["OpenStack-API-Version"] = header
		}
		if legacy != "" {
			h["X-OpenStack-Volume-API-Version"] = legacy
		}
		for _, path := range []string{"/v3/", "/v3/" + testProject + "/volumes", "/v3/" + testProject + "/attachments"} {
			rec := fuzzDo(t, e, http.MethodGet, path, "", h)
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusNotAcceptable:
			default:
				t.Fatalf("GET %s with %q: %d %s", path, h, rec.Code, rec.Body)
			}
		}
	})
}

// volumeState is what an action on volume id could change: every table's row count (the
// outbox's as the count of rows ever inserted), the volume's rows in the tables that hold
// them, and the quota usage.
func volumeState(t *testing.T, raw *sql.DB, id string) string {
	t.Helper()
	var b strings.Builder
	tables, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := tables.Err(); err != nil {
		t.Fatal(err)
	}
	tables.Close()
	for _, n := range names {
		if n == "outbox" {
			// The relay deletes the rows of earlier requests in the background once their
			// handlers finished; what a request inserts is counted in test_outbox_log.
			continue
		}
		var c int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM "` + n + `"`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %d rows\n", n, c)
	}
	for _, q := range []string{`SELECT * FROM volumes WHERE id = ?`, `SELECT * FROM volume_metadata WHERE volume_id = ?`,
		`SELECT * FROM volume_admin_metadata WHERE volume_id = ?`, `SELECT * FROM volume_glance_metadata WHERE volume_id = ?`,
		`SELECT * FROM volume_attachment WHERE volume_id = ?`, `SELECT * FROM snapshots WHERE volume_id = ?`,
		`SELECT * FROM quota_usages WHERE ? <> ''`} {
		rows, err := raw.Query(q, id)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%v\n", vals))
		}
		sort.Strings(lines) // rows in any order
		b.WriteString(strings.Join(lines, ""))
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

func FuzzVolumeAction(f *testing.F) {
	for _, body := range []string{`{"os-extend": {"new_size": 2}}`, `{"os-reset_status": {"status": "error"}}`,
		`{"os-force_delete": {}}`, `{"os-force_delete": ""}`, `{"os-reserve": null}`, `{"os-set_bootable": {"bootable": "maybe"}}`,
		`{"os-update_readonly_flag": {"readonly": true}}`, `{"os-set_image_metadata": {"metadata": {"a": "b"}}}`,
		`{"os-unset_image_metadata": {"key": "a"}}`, `{"os-show_image_metadata": null}`, `{"revert": {"snapshot_id": "x"}}`,
		`{"os-retype": {"new_type": "__DEFAULT__"}}`, `{"os-extend": {"new_size": 99999999999999999999}}`,
		`{"os-extend": {"new_size": 2}, "os-reserve": {}}`, `{"os-initialize_connection": {"connector": {"initiator": "iqn"}}}`,
		`{"os-attach": {"mountpoint": "/dev/vdb", "instance_uuid": null}}`, `{}`, `null`, `[]`, nested(40)} {
		f.Add(uint8(len(fuzzVersions)-1), []byte(body))
	}
	e, drv := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, version uint8, body []byte) {
		rec := fuzzDo(t, e, http.MethodPost, "/v3/"+testProject+"/volumes", `{"volume": {"size": 1}}`, nil)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		id := str(t, obj(t, rec), "volume", "id")
		placeOnFile(t, e, drv, id)
		before := volumeState(t, e.raw, id)
		h := map[string]string{"OpenStack-API-Version": fuzzVersions[int(version)%len(fuzzVersions)]}
		rec = fuzzDo(t, e, http.MethodPost, "/v3/"+testProject+"/volumes/"+id+"/action", string(body), h)
		if rec.Code >= 400 {
			if after := volumeState(t, e.raw, id); after != before {
				t.Fatalf("%d %s left the database changed:\nbefore:\n%s\nafter:\n%s", rec.Code, rec.Body, before, after)
			}
		}
	})
}
