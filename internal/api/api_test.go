package api

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/outbox"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
)

// The caller of most tests: noauth token "u1:p1".
const (
	testUser    = "u1"
	testProject = "p1"
	testHost    = "example.com"
)

// busConsumer is the far end of the API's real outbox relay (internal/outbox) and in-process
// bus (rpc.Local): a consumer of the bus that keeps every message delivered to it, serving
// each queue the outbox addresses. A test SQLite trigger copies every outbox row as it is
// inserted, so got can wait until each row the API wrote has come through the relay and the
// bus, and answer in the order the rows were written.
type busConsumer struct {
	t     testing.TB
	raw   *sql.DB
	relay *outbox.Relay
	bus   *rpc.Local
	ctx   context.Context // ends the consumer's Serves

	mu        sync.Mutex
	served    map[rpc.Target]bool
	delivered []resource.OutboxMessage // as the bus delivered them (ID 0)
}

// outboxLogDDL keeps a copy of each outbox row the API inserts (the relay deletes the row once
// the bus has it).
const outboxLogDDL = `CREATE TABLE test_outbox_log (id INTEGER PRIMARY KEY, topic TEXT, server TEXT, method TEXT, args TEXT);
CREATE TRIGGER test_outbox_log_insert AFTER INSERT ON outbox BEGIN
  INSERT INTO test_outbox_log (id, topic, server, method, args) VALUES (NEW.id, NEW.topic, NEW.server, NEW.method, NEW.args);
END;`

// newBusConsumer starts a real relay over a real in-process bus, stopped at the end of t.
func newBusConsumer(t testing.TB, store *db.Store, raw *sql.DB, log logrus.FieldLogger) *busConsumer {
	t.Helper()
	if _, err := raw.Exec(outboxLogDDL); err != nil {
		t.Fatalf("outbox log trigger: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bus := rpc.NewLocal(log)
	// Grace and Interval far beyond a test: every message goes through Dispatch, none is
	// re-sent by the sweeper, so each outbox row is delivered once.
	relay := &outbox.Relay{Store: store, Transport: bus, Log: log, Grace: time.Hour, Interval: time.Hour}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		relay.Run(ctx, 1)
	}()
	t.Cleanup(func() {
		cancel()
		<-ran
		bus.Close()
	})
	c := &busConsumer{t: t, raw: raw, relay: relay, bus: bus, ctx: ctx, served: map[rpc.Target]bool{}}
	c.serve(rpc.Target{Topic: rpc.TopicScheduler})
	return c
}

// Dispatch hands freshly committed rows to the real relay, so that a test may build an API
// with this consumer as its Dispatcher.
func (c *busConsumer) Dispatch(ctx context.Context, msgs []resource.OutboxMessage) {
	c.relay.Dispatch(ctx, msgs)
}

// serve starts consuming target's queue, once; casts held there are delivered at once.
func (c *busConsumer) serve(target rpc.Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.served[target] {
		return
	}
	c.served[target] = true
	go func() {
		err := c.bus.Serve(c.ctx, target, func(_ context.Context, m *rpc.Message) (any, error) {
			rc, err := json.Marshal(m.Context)
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.delivered = append(c.delivered, resource.OutboxMessage{Topic: target.Topic, Server: target.Server,
				Method: m.Method, Args: append([]byte(nil), m.Args...), Context: rc})
			return nil, nil
		})
		if err != nil && !errors.Is(err, rpc.ErrClosed) {
			c.t.Errorf("serve %s: %v", target, err)
		}
	}()
}

// got waits until every outbox row the API has written so far was delivered by the bus and
// returns them in the order they were written, each with its outbox id.
func (c *busConsumer) got() []resource.OutboxMessage {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		written := c.written()
		for _, w := range written {
			c.serve(rpc.Target{Topic: w.Topic, Server: w.Server})
		}
		out, missing := c.match(written)
		if missing == nil {
			return out
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("outbox row %d (%s to %s) never came through the relay and the bus", missing.ID, missing.Method,
				rpc.Target{Topic: missing.Topic, Server: missing.Server})
		}
		time.Sleep(time.Millisecond)
	}
}

// written is every outbox row the API inserted, in order.
func (c *busConsumer) written() []resource.OutboxMessage {
	c.t.Helper()
	rows, err := c.raw.Query(`SELECT id, topic, server, method, args FROM test_outbox_log ORDER BY id`)
	if err != nil {
		c.t.Fatalf("read the outbox log: %v", err)
	}
	defer rows.Close()
	var out []resource.OutboxMessage
	for rows.Next() {
		var m resource.OutboxMessage
		var server sql.NullString
		var args string
		if err := rows.Scan(&m.ID, &m.Topic, &server, &m.Method, &args); err != nil {
			c.t.Fatalf("read the outbox log: %v", err)
		}
		m.Server, m.Args = server.String, []byte(args)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatalf("read the outbox log: %v", err)
	}
	return out
}

// sameJSON reports whether a and b are the same JSON value (the bus re-encodes arguments,
// escaping HTML characters the API's encoder left alone).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// match pairs each written row with a delivered message of the same target, method and
// arguments; missing is the first row nothing was delivered for yet.
func (c *busConsumer) match(written []resource.OutboxMessage) (out []resource.OutboxMessage, missing *resource.OutboxMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	used := make([]bool, len(c.delivered))
	for i, w := range written {
		found := false
		for j, d := range c.delivered {
			if !used[j] && d.Topic == w.Topic && d.Server == w.Server && d.Method == w.Method && sameJSON(d.Args, w.Args) {
				used[j], found = true, true
				d.ID = w.ID
				out = append(out, d)
				break
			}
		}
		if !found {
			return nil, &written[i]
		}
	}
	return out, nil
}

// env is an API on a fresh SQLite database.
type env struct {
	t      testing.TB
	store  *db.Store
	raw    *sql.DB      // the same database, for fixtures the Store has no method for
	disp   *busConsumer // what the API's outbox relay delivered on the bus
	h      http.Handler
	logs   *test.Hook
	zones  []string
	nowOff time.Duration // added to the API's clock
	// attachConns reaches the real volume service of attachEnv.
	attachConns Connections
	opts        Options // what the handler was built with
}

func newEnv(t testing.TB, configure ...func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	store, err := db.Open(ctx, "sqlite:///"+path)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	liftQuotas(t, store) // tests of other things create more than Cinder's 10 volumes
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open raw database: %v", err)
	}
	t.Cleanup(func() { raw.Close() })

	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	e := &env{t: t, store: store, raw: raw, logs: hook, zones: []string{"nova", "az2"}}
	e.disp = newBusConsumer(t, store, raw, log)
	o := Options{
		Store:             store,
		Dispatcher:        e.disp.relay,
		Log:               log,
		AuthStrategy:      "noauth",
		AvailabilityZones: func() []string { return e.zones },
		ServiceDownTime:   time.Minute,
		MaxLimit:          1000,
		Now:               func() time.Time { return time.Now().Add(e.nowOff) },
		// Exercise the version-gated behaviour prepared beyond what is advertised;
		// TestAdvertisedMaxVersion checks what production advertises.
		maxVersion: GatedVersion,
	}
	for _, c := range configure {
		c(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.h, e.opts = h, o
	return e
}

// call is one request to the API.
type call struct {
	method, path string
	body         string
	version      string // OpenStack-API-Version value; "" sends none
	token        string // X-Auth-Token; "" means testUser:testProject, "-" sends none
	header       map[string]string
}

// do sends c and checks what every answer must carry: request ids and microversion headers.
func (e *env) do(c call) *httptest.ResponseRecorder {
	e.t.Helper()
	var body *strings.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(c.method, c.path, body)
	req.Host = testHost
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.token {
	case "":
		req.Header.Set("X-Auth-Token", testUser+":"+testProject)
	case "-":
	default:
		req.Header.Set("X-Auth-Token", c.token)
	}
	if c.version != "" {
		req.Header.Set("OpenStack-API-Version", c.version)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	checkCommonHeaders(e.t, rec)
	return rec
}

var versionHeaderPattern = regexp.MustCompile(`^volume [0-9]+\.[0-9]+$`)

var requestIDPattern = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func checkCommonHeaders(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	rid := h.Get("X-Openstack-Request-Id")
	if !requestIDPattern.MatchString(rid) {
		t.Errorf("x-openstack-request-id = %q, want req-<uuid>", rid)
	}
	if got := h.Get("X-Compute-Request-Id"); got != rid {
		t.Errorf("X-Compute-Request-Id = %q, want %q", got, rid)
	}
	if got := h.Get("OpenStack-API-Version"); !versionHeaderPattern.MatchString(got) {
		t.Errorf("OpenStack-API-Version = %q, want volume X.Y", got)
	}
	if got := h.Get("Vary"); got != "OpenStack-API-Version" {
		t.Errorf("Vary = %q", got)
	}
}

// obj decodes a JSON answer keeping the order of keys.
func obj(t testing.TB, rec *httptest.ResponseRecorder) *wire.Object {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	v, err := wire.DecodeJSON(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	o, ok := v.(*wire.Object)
	if !ok {
		t.Fatalf("body %s is not an object", rec.Body)
	}
	return o
}

// member walks a path of keys (and list indexes as ints) into a decoded body.
func member(t testing.TB, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			o, ok := v.(*wire.Object)
			if !ok || !o.Has(k) {
				t.Fatalf("no member %q in %s", k, wire.PyRepr(v))
			}
			v = o.Vals[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("no element %d in %s", k, wire.PyRepr(v))
			}
			v = l[k]
		}
	}
	return v
}

func str(t testing.TB, v any, path ...any) string {
	t.Helper()
	s, ok := member(t, v, path...).(string)
	if !ok {
		t.Fatalf("%v is %s, not a string", path, wire.PyRepr(member(t, v, path...)))
	}
	return s
}

func keysOf(t testing.TB, v any) []string {
	t.Helper()
	o, ok := v.(*wire.Object)
	if !ok {
		t.Fatalf("%s is not an object", wire.PyRepr(v))
	}
	return o.Keys
}

func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
}

// wantFault checks an error answer: status, Cinder's fault name, and message.
func wantFault(t testing.TB, rec *httptest.ResponseRecorder, status int, name, message string) {
	t.Helper()
	wantStatus(t, rec, status)
	body := obj(t, rec)
	if got := keysOf(t, body); len(got) != 1 || got[0] != name {
		t.Fatalf("fault keys %v, want [%s]; body %s", got, name, rec.Body)
	}
	if keys := keysOf(t, member(t, body, name)); strings.Join(keys, ",") != "code,message" {
		t.Errorf("fault members %v, want code, message", keys)
	}
	if code := member(t, body, name, "code"); code != json.Number(strconv.Itoa(status)) {
		t.Errorf("fault code %v, want %d", code, status)
	}
	if got := str(t, body, name, "message"); got != message {
		t.Errorf("fault message\n got: %s\nwant: %s", got, message)
	}
}

func sameKeys(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s keys\n got: %v\nwant: %v", what, got, want)
	}
}

// createVolume makes a volume through the API and returns its id.
func (e *env) createVolume(body string, token string) string {
	e.t.Helper()
	rec := e.do(call{method: "POST", path: "/v3/" + projectOf(token) + "/volumes", body: body, token: token})
	wantStatus(e.t, rec, http.StatusAccepted)
	return str(e.t, obj(e.t, rec), "volume", "id")
}

func projectOf(token string) string {
	if token == "" {
		return testProject
	}
	_, p, _ := strings.Cut(token, ":")
	return p
}

// place does what a scheduler and volume service would: give the volume a host and status.
func (e *env) place(id, host, status string) {
	e.t.Helper()
	if _, err := e.store.TransitionVolume(context.Background(), id, []string{resource.StatusCreating},
		resource.VolumeChange{Status: status, Host: &host}); err != nil {
		e.t.Fatalf("place volume %s: %v", id, err)
	}
}

// addVolumeType creates a volume type (the Store has no method for it yet).
func (e *env) addVolumeType(id, name string) {
	e.t.Helper()
	if _, err := e.raw.Exec(`INSERT INTO volume_types (id, name, is_public, created_at, deleted) VALUES (?, ?, 1, ?, 0)`,
		id, name, time.Now().UTC().Format("2006-01-02 15:04:05.000000")); err != nil {
		e.t.Fatalf("add volume type: %v", err)
	}
}

// volumes lists every volume of every project, straight from the store.
func (e *env) volumes() []*resource.Volume {
	e.t.Helper()
	vols, err := e.store.ListVolumes(context.Background(), resource.VolumeFilter{})
	if err != nil {
		e.t.Fatalf("list volumes: %v", err)
	}
	return vols
}

func (e *env) volume(id string) *resource.Volume {
	e.t.Helper()
	v, err := e.store.GetVolume(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get volume %s: %v", id, err)
	}
	return v
}
