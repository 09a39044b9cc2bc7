package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// The scheduler end to end, on seed 002's layout: four volume services in two zones, all with
// volume_backend_name = lvmbackend, and a volume type that asks for it. Every backend is a
// local-file backend with a capacity budget (local_capacity_gb), thick, so that the
// CapacityWeigher's choices follow from the capacities alone.

// seedType is the volume_backend_name of every seed 002 backend, the extra spec of the type
// that asks for them, and so the name of every pool (host@backend#lvmbackend).
const seedType = "lvmbackend"

// seedPool is one backend of seed 002's layout.
type seedPool struct {
	host, backend, zone string
	capacity            float64 // local_capacity_gb
}

func (p seedPool) service() string { return p.host + "@" + p.backend }
func (p seedPool) pool() string    { return p.service() + "#" + seedType }

// seed002 is the layout. The capacities are small (the budget is capped by the filesystem's
// free space) and chosen so that no two pools ever tie in the sequence below.
var seed002 = []seedPool{
	{"block1", "lvmdriver-b1", "nova", 60},
	{"block2", "lvmdriver-b21", "az1", 50},
	{"block2", "lvmdriver-b22", "az1", 30},
	{"network", "lvmdriver-network", "nova", 40},
}

func seedPoolNamed(name string) seedPool {
	for _, p := range seed002 {
		if p.pool() == name || p.service() == name {
			return p
		}
	}
	panic("no seed 002 pool " + name)
}

// seed002Options starts the layout as processes: block1 and network serve one backend each
// in nova; block2 is one scoria-volume with enabled_backends = lvmdriver-b21,lvmdriver-b22 in
// az1. Heartbeats every second and service_down_time 4 s, so that a stopped service is seen
// down quickly; capability reports (periodic_interval) only at start, so that between reports
// the scheduler works from what it consumed, as Cinder's does, and every choice is computable.
func seed002Options() cluster.Options {
	backend := func(p seedPool) cluster.BackendSpec {
		return cluster.BackendSpec{Name: p.backend, Options: map[string]string{
			"volume_driver":             "localfile",
			"volume_backend_name":       seedType,
			"backend_availability_zone": p.zone,
			"local_capacity_gb":         strconv.FormatFloat(p.capacity, 'f', -1, 64),
			"local_thin_provisioning":   "false",
		}}
	}
	return cluster.Options{
		Name: "scoria_sched",
		Volumes: []cluster.VolumeSpec{
			{Host: "block1", Zone: "nova", Backends: []cluster.BackendSpec{backend(seed002[0])}},
			{Host: "block2", Zone: "az1", Backends: []cluster.BackendSpec{backend(seed002[1]), backend(seed002[2])}},
			{Host: "network", Zone: "nova", Backends: []cluster.BackendSpec{backend(seed002[3])}},
		},
		ReportInterval:   1,
		ServiceDownTime:  4,
		PeriodicInterval: 300,
	}
}

// capacityModel is what Cinder's scheduler knows of thick pools between two capability
// reports: the free capacity of the last report minus what it placed since
// (consume_from_volume, kept even when the create then fails). The CapacityFilter (thick,
// reserved_percentage 0) needs free ≥ size; the CapacityWeigher (multiplier 1, normalised
// min-max) picks the most free.
type capacityModel struct {
	free   map[string]float64 // by pool, as the scheduler sees it
	stored map[string]float64 // GiB of volumes whose storage exists, by pool
	down   map[string]bool    // by pool
}

func newCapacityModel() *capacityModel {
	m := &capacityModel{free: map[string]float64{}, stored: map[string]float64{}, down: map[string]bool{}}
	for _, p := range seed002 {
		m.free[p.pool()] = p.capacity
	}
	return m
}

// place returns the pool the scheduler must choose for size GiB in zone, not counting the
// pools down or tried, and consumes it; "" when none fits. A tie fails the test: the layout
// must leave no choice to the tie-break.
func (m *capacityModel) place(t *testing.T, zone string, size float64, tried ...string) string {
	t.Helper()
	best, bestFree, tie := "", -1.0, false
	for _, p := range seed002 {
		name, f := p.pool(), m.free[p.pool()]
		if p.zone != zone || m.down[name] || slices.Contains(tried, name) || f < size {
			continue
		}
		switch {
		case f > bestFree:
			best, bestFree, tie = name, f, false
		case f == bestFree:
			tie = true
		}
	}
	if tie {
		t.Fatalf("test layout: two pools tie at %g GiB free for %g GiB in %s (%v); change the sizes", bestFree, size, zone, m.free)
	}
	if best != "" {
		m.free[best] -= size
	}
	return best
}

// maxFree is the most free capacity among the up pools of zone.
func (m *capacityModel) maxFree(zone string) float64 {
	most := 0.0
	for _, p := range seed002 {
		if p.zone == zone && !m.down[p.pool()] {
			most = max(most, m.free[p.pool()])
		}
	}
	return most
}

// report is a fresh capability report of pool (its service started): thick, so free is the
// capacity minus the volumes stored.
func (m *capacityModel) report(pool string) {
	m.free[pool] = seedPoolNamed(pool).capacity - m.stored[pool]
}

// schedEnv is one seed 002 cluster and the ways the test drives it.
type schedEnv struct {
	c     *cluster.Cluster
	cl    *blockstorage.Client
	cli   cinderCLI
	model *capacityModel
}

// create sends POST /volumes with a volume type and, when zone is not "", an availability
// zone, and returns the new volume's id.
func (e *schedEnv) create(t *testing.T, name string, size int, volumeType, zone string) string {
	t.Helper()
	v := map[string]any{"name": name, "size": size, "volume_type": volumeType}
	if zone != "" {
		v["availability_zone"] = zone
	}
	body, err := json.Marshal(map[string]any{"volume": v})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.cl.Do(ctxT(t, 30*time.Second), http.MethodPost, "/volumes", body, nil)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	var out struct {
		Volume blockstorage.Volume `json:"volume"`
	}
	if resp.Status != http.StatusAccepted || json.Unmarshal(resp.Body, &out) != nil || out.Volume.ID == "" {
		t.Fatalf("create %s (%d GiB, type %s, zone %q): status %d, body %.400s", name, size, volumeType, zone, resp.Status, resp.Body)
	}
	return out.Volume.ID
}

// wait waits until volume id is in status (available or error) and returns it.
func (e *schedEnv) wait(t *testing.T, id, status string) blockstorage.Volume {
	t.Helper()
	if got, err := e.c.WaitVolumeStatus(id, 30*time.Second, status); err != nil {
		t.Fatalf("volume %s: %v (last status %q)", id, err, got)
	}
	v, err := e.cl.GetVolume(ctxT(t, 10*time.Second), id)
	if err != nil {
		t.Fatal(err)
	}
	return *v
}

// landed waits until volume id is available on pool, checks that its file is in that
// backend's directory, and records it in the model.
func (e *schedEnv) landed(t *testing.T, id string, size int, pool string) {
	t.Helper()
	v := e.wait(t, id, "available")
	if v.Host != pool {
		t.Errorf("volume %s (%d GiB) landed on %q, want %q (free capacity per pool as the scheduler should see it, this volume counted: %v)", id, size, v.Host, pool, e.model.free)
		return
	}
	e.model.stored[pool] += float64(size)
	p := seedPoolNamed(pool)
	path := filepath.Join(e.c.BackendDir(p.host, p.backend), "volume-"+id)
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(size)*gib {
		t.Errorf("volume %s on %s: its file %s: %v (want %d bytes)", id, pool, path, err, int64(size)*gib)
	}
}

// TestSchedulerSeed002 places volumes on seed 002's layout and checks each placement against
// Cinder's semantics: what the cinder CLI shows of services, zones and pools; the
// CapacityWeigher's choice and its spreading as placements consume capacity; the
// availability zone; the reason logged when nothing fits; a stopped service; a backend whose
// storage fails. The steps share one cluster and run in order: each starts from the
// capacity the ones before consumed.
func TestSchedulerSeed002(t *testing.T) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, seed002Options())
	e := &schedEnv{c: c, cl: c.Client(), cli: cinderCLI{t: t, path: path, endpoint: c.Endpoint(), home: t.TempDir()}, model: newCapacityModel()}
	// The two types of seed 002, made through the types API.
	for name, backendName := range map[string]string{seedType: seedType, "nosuch": "nosuch"} {
		if _, err := c.CreateVolumeType(ctxT(t, 30*time.Second), name, map[string]string{"volume_backend_name": backendName}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		run  func(t *testing.T, e *schedEnv)
	}{
		{"cinder service-list, availability-zone-list and get-pools", seedListings},
		{"CapacityWeigher picks the most free, then spreads as placements consume", seedWeigher},
		{"--availability-zone az1 lands on block2", seedZone},
		{"no pool matches the volume type", seedNoMatch},
		{"bigger than any pool", seedTooBig},
		{"a stopped service gets no work until it is up again", seedStoppedService},
		{"storage that fails: retried on the next pool", seedRetry},
		{"every pool of the zone fails: error once all were tried", seedAllFail},
	}
	for i, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) { e.cli.t = t; s.run(t, e) })
		e.cli.t = t
		if !ok && i < len(steps)-1 {
			t.Fatalf("step %q failed; the later steps depend on it", s.name)
		}
	}
}

func seedListings(t *testing.T, e *schedEnv) {
	out := e.cli.must("service-list")
	t.Logf("cinder service-list:\n%s", out)
	want := map[string]string{"cinder-scheduler controller": "nova"}
	for _, p := range seed002 {
		want["cinder-volume "+p.service()] = p.zone
	}
	seen := map[string]bool{}
	for _, rec := range parseTable(out) {
		key := rec["Binary"] + " " + rec["Host"]
		zone, ok := want[key]
		if !ok {
			t.Errorf("cinder service-list has an unexpected row: %v", rec)
			continue
		}
		if seen[key] {
			t.Errorf("cinder service-list lists %s twice", key)
		}
		seen[key] = true
		if rec["Zone"] != zone || rec["Status"] != "enabled" || rec["State"] != "up" {
			t.Errorf("cinder service-list: %s is zone %q %s/%s, want zone %q enabled/up", key, rec["Zone"], rec["Status"], rec["State"], zone)
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("cinder service-list has no row %q", key)
		}
	}

	out = e.cli.must("availability-zone-list")
	t.Logf("cinder availability-zone-list:\n%s", out)
	zones := map[string]string{}
	for _, rec := range parseTable(out) {
		zones[rec["Name"]] = rec["Status"]
	}
	if wantZones := map[string]string{"nova": "available", "az1": "available"}; !maps.Equal(zones, wantZones) {
		t.Errorf("cinder availability-zone-list: %v, want %v", zones, wantZones)
	}

	var names []string
	for _, props := range parsePropertyTables(e.cli.must("get-pools")) {
		names = append(names, props["name"])
	}
	sort.Strings(names)
	var wantNames []string
	for _, p := range seed002 {
		wantNames = append(wantNames, p.pool())
	}
	sort.Strings(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("cinder get-pools lists %v, want %v", names, wantNames)
	}

	out = e.cli.must("get-pools", "--detail")
	t.Logf("cinder get-pools --detail:\n%s", out)
	pools := map[string]map[string]string{}
	for _, props := range parsePropertyTables(out) {
		pools[props["name"]] = props
	}
	for _, p := range seed002 {
		props, ok := pools[p.pool()]
		if !ok {
			t.Errorf("cinder get-pools --detail has no pool %s (has %v)", p.pool(), slices.Sorted(maps.Keys(pools)))
			continue
		}
		for key, want := range map[string]string{
			"pool_name":                  seedType,
			"volume_backend_name":        seedType,
			"thick_provisioning_support": "True",
			"thin_provisioning_support":  "False",
			"storage_protocol":           "file",
			"reserved_percentage":        "0",
		} {
			if props[key] != want {
				t.Errorf("cinder get-pools --detail: %s %s = %q, want %q", p.pool(), key, props[key], want)
			}
		}
		for key, want := range map[string]float64{
			"total_capacity_gb":     p.capacity,
			"free_capacity_gb":      p.capacity,
			"allocated_capacity_gb": 0,
		} {
			if got, err := strconv.ParseFloat(props[key], 64); err != nil || got != want {
				t.Errorf("cinder get-pools --detail: %s %s = %q, want %g", p.pool(), key, props[key], want)
			}
		}
	}
}

// seedWeigher: one volume lands on the nova pool with the most free capacity; then five
// creates sent at once spread over the nova pools as each placement consumes capacity. They
// are of one size, so which pools they take does not depend on the order the scheduler
// receives them in.
func seedWeigher(t *testing.T, e *schedEnv) {
	first := e.create(t, "weigh-first", 10, seedType, "")
	want := e.model.place(t, "nova", 10)
	if want != seedPoolNamed("block1@lvmdriver-b1").pool() {
		t.Fatalf("test layout: the first volume should go to block1 (most free), the model says %s", want)
	}
	e.landed(t, first, 10, want)

	const n, size = 5, 7
	var ids, wantPools []string
	for i := range n {
		ids = append(ids, e.create(t, fmt.Sprintf("weigh-%d", i), size, seedType, ""))
		wantPools = append(wantPools, e.model.place(t, "nova", size))
	}
	var got []string
	for _, id := range ids {
		v := e.wait(t, id, "available")
		got = append(got, v.Host)
	}
	sort.Strings(got)
	sort.Strings(wantPools)
	t.Logf("%d × %d GiB landed on %v; the scheduler's free capacity now %v", n, size, got, e.model.free)
	if !slices.Equal(got, wantPools) {
		t.Fatalf("%d creates of %d GiB landed on %v, want %v: the CapacityWeigher must see what each placement consumed", n, size, got, wantPools)
	}
	if slices.Index(wantPools, seedPoolNamed("network@lvmdriver-network").pool()) < 0 {
		t.Fatalf("test layout: the burst should spread to network")
	}
	for _, id := range ids {
		v, err := e.cl.GetVolume(ctxT(t, 10*time.Second), id)
		if err != nil {
			t.Fatal(err)
		}
		e.model.stored[v.Host] += size
	}
}

// seedZone: a create in az1, with the cinder CLI, lands on block2's backend with the most free.
func seedZone(t *testing.T, e *schedEnv) {
	created := parseProperties(e.cli.must("create", "--volume-type", seedType, "--availability-zone", "az1", "--name", "in-az1", "5"))
	id := created["id"]
	if !uuidRE.MatchString(id) {
		t.Fatalf("cinder create printed no volume id: %v", created)
	}
	want := e.model.place(t, "az1", 5)
	e.landed(t, id, 5, want)
	shown := parseProperties(e.cli.must("show", id))
	if host := shown["os-vol-host-attr:host"]; !strings.HasPrefix(host, "block2@") || host != want {
		t.Errorf("cinder show: os-vol-host-attr:host = %q, want %s (block2, most free in az1)", host, want)
	}
	if shown["availability_zone"] != "az1" || shown["volume_type"] != seedType {
		t.Errorf("cinder show: availability_zone %q volume_type %q, want az1 and %s", shown["availability_zone"], shown["volume_type"], seedType)
	}
}

// seedNoMatch: a type whose volume_backend_name no pool has ends in error, and the scheduler
// logs why, pool by pool.
func seedNoMatch(t *testing.T, e *schedEnv) {
	id := e.create(t, "no-match", 1, "nosuch", "")
	v := e.wait(t, id, "error")
	if v.Host != "" {
		t.Errorf("unplaceable volume %s has host %q", id, v.Host)
	}
	reason := schedulerFailure(t, e.c, id)
	for _, want := range []string{
		"No valid backend: 0/4 pools fit",
		"2 in another availability zone",
		"2 do not match volume_backend_name=nosuch",
	} {
		if !strings.Contains(reason, want) {
			t.Errorf("the scheduler's reason for %s, %q, lacks %q", id, reason, want)
		}
	}
	checkUserMessage(t, e.c, id, reason)
}

// checkUserMessage checks the user message the scheduler left for volume id in the same
// transaction as its error status: Cinder's "schedule allocate volume" / no valid backend,
// for the volume's project and request, with reason as its text: in the database, and as a
// user sees it through the real cinder CLI (message-list --resource_uuid, message-show).
func checkUserMessage(t *testing.T, c *cluster.Cluster, id, reason string) {
	t.Helper()
	defer checkUserMessageCLI(t, c, id, reason)
	rows, err := c.DB().QueryContext(ctxT(t, 30*time.Second), `SELECT m.event_id, m.message_level, m.action_id,
	m.detail_id, m.detail, m.request_id, m.project_id = v.project_id FROM messages m JOIN volumes v ON v.id = m.resource_uuid
	WHERE m.resource_uuid = ? AND m.resource_type = 'VOLUME' AND m.deleted = 0`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var event, level, action, detailID, detail, requestID string
		var sameProject bool
		if err := rows.Scan(&event, &level, &action, &detailID, &detail, &requestID, &sameProject); err != nil {
			t.Fatal(err)
		}
		t.Logf("user message of %s: %s %s:%s", id, event, action, detail)
		if event != "VOLUME_VOLUME_001_003" || level != "ERROR" || action != "001" || detailID != "003" ||
			detail != reason || !strings.HasPrefix(requestID, "req-") || !sameProject {
			t.Errorf("user message of %s: event %s, level %s, action %s, detail %s %q, request %q, volume's project %v; want VOLUME_VOLUME_001_003 ERROR 001 003 %q, the create's request, the volume's project",
				id, event, level, action, detailID, detail, requestID, sameProject, reason)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("volume %s has %d user messages, want 1", id, n)
	}
}

// checkUserMessageCLI finds volume id's user message with cinder message-list and
// message-show, as the volume's owner.
func checkUserMessageCLI(t *testing.T, c *cluster.Cluster, id, reason string) {
	t.Helper()
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	var project string
	if err := c.DB().QueryRow("SELECT project_id FROM volumes WHERE id = ?", id).Scan(&project); err != nil {
		t.Fatal(err)
	}
	cli := cinderCLI{t: t, path: path, endpoint: c.Endpoint(), home: t.TempDir(), project: project}
	rows := parseTable(cli.must("message-list", "--resource_uuid", id))
	if len(rows) != 1 || rows[0]["Event ID"] != "VOLUME_VOLUME_001_003" || rows[0]["Resource UUID"] != id {
		t.Fatalf("cinder message-list --resource_uuid %s: %v, want one VOLUME_VOLUME_001_003", id, rows)
	}
	shown := parseProperties(cli.must("message-show", rows[0]["ID"]))
	if want := "schedule allocate volume:" + reason; shown["user_message"] != want {
		t.Errorf("cinder message-show: user_message %q, want %q", shown["user_message"], want)
	}
}

// seedTooBig: a volume bigger than any pool ends in error; the reason gives the most free
// capacity of the pools of its zone, as the scheduler sees it after the placements so far.
func seedTooBig(t *testing.T, e *schedEnv) {
	id := e.create(t, "too-big", 61, seedType, "")
	e.wait(t, id, "error")
	reason := schedulerFailure(t, e.c, id)
	for _, want := range []string{
		"No valid backend: 0/4 pools fit",
		"2 in another availability zone",
		fmt.Sprintf("2 lack capacity (needs 61 GiB, at most %s GiB free)", gibText(e.model.maxFree("nova"))),
	} {
		if !strings.Contains(reason, want) {
			t.Errorf("the scheduler's reason for %s, %q, lacks %q", id, reason, want)
		}
	}
}

// seedStoppedService kills block1's volume service (the nova pool with the most free): once
// service_down_time has passed the CLI shows it down, creates go to network only, and a
// create that fits nowhere names it as down. Restarted, it is up again and takes the next
// volume, being the most free again.
func seedStoppedService(t *testing.T, e *schedEnv) {
	b1 := seedPoolNamed("block1@lvmdriver-b1")
	killed := time.Now()
	if err := e.c.Kill(cluster.VolumeProcess(b1.host)); err != nil {
		t.Fatal(err)
	}
	err := cluster.Poll(context.Background(), 30*time.Second, 500*time.Millisecond, func() (bool, string, error) {
		out, err := e.cli.run("service-list")
		if err != nil {
			return false, err.Error(), nil
		}
		states := map[string]string{}
		for _, rec := range parseTable(out) {
			states[rec["Host"]] = rec["State"]
		}
		for _, p := range seed002 {
			want := "up"
			if p == b1 {
				want = "down"
			}
			if states[p.service()] != want {
				return false, fmt.Sprintf("states %v", states), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatalf("cinder service-list after killing %s: %v", b1.service(), err)
	}
	if d := time.Since(killed); d < 2*time.Second {
		t.Errorf("%s was listed down %s after the kill, before service_down_time (4 s, heartbeats every 1 s) could pass", b1.service(), d.Round(time.Millisecond))
	}
	e.model.down[b1.pool()] = true

	const n, size = 3, 4
	var ids, wantPools []string
	for i := range n {
		ids = append(ids, e.create(t, fmt.Sprintf("while-down-%d", i), size, seedType, ""))
		wantPools = append(wantPools, e.model.place(t, "nova", size))
	}
	for i, id := range ids {
		e.landed(t, id, size, wantPools[i])
	}
	if t.Failed() {
		t.FailNow()
	}
	id := e.create(t, "too-big-while-down", 50, seedType, "")
	e.wait(t, id, "error")
	reason := schedulerFailure(t, e.c, id)
	for _, want := range []string{
		"No valid backend: 0/3 pools fit",
		fmt.Sprintf("1 lacks capacity (needs 50 GiB, %s GiB free)", gibText(e.model.maxFree("nova"))),
		"1 service down (" + b1.service() + ")",
	} {
		if !strings.Contains(reason, want) {
			t.Errorf("the scheduler's reason for %s, %q, lacks %q", id, reason, want)
		}
	}

	if err := e.c.Restart(cluster.VolumeProcess(b1.host)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.WaitServicesUp(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, rec := range parseTable(e.cli.must("service-list")) {
		if rec["Host"] == b1.service() && rec["State"] != "up" {
			t.Errorf("cinder service-list after the restart: %s is %s, want up", b1.service(), rec["State"])
		}
	}
	delete(e.model.down, b1.pool())
	e.model.report(b1.pool())
	id = e.create(t, "after-restart", size, seedType, "")
	want := e.model.place(t, "nova", size)
	if want != b1.pool() {
		t.Fatalf("test layout: after the restart block1 should be the most free, the model says %s (%v)", want, e.model.free)
	}
	e.landed(t, id, size, want)
}

// seedRetry makes block1's directory immutable: the two next creates are placed there first
// (most free), fail on the storage, and are retried on network, where they become available.
func seedRetry(t *testing.T, e *schedEnv) {
	b1 := seedPoolNamed("block1@lvmdriver-b1")
	immutable(t, e.c.BackendDir(b1.host, b1.backend))
	for i := range 2 {
		id := e.create(t, fmt.Sprintf("retried-%d", i), 3, seedType, "")
		first := e.model.place(t, "nova", 3)
		if first != b1.pool() {
			t.Fatalf("test layout: block1 should be the first choice, the model says %s (%v)", first, e.model.free)
		}
		second := e.model.place(t, "nova", 3, first)
		e.landed(t, id, 3, second)
		checkPlacements(t, e.c, id, first, second)
		checkCreateFailed(t, e.c, b1.host, id)
	}
}

// seedAllFail makes both nova pools fail: the volume is tried on each, then ends in error;
// the zone has no third pool, so the scheduler stops at "already failed" before
// scheduler_max_attempts (TestSchedulerMaxAttempts reaches it).
func seedAllFail(t *testing.T, e *schedEnv) {
	b1, net := seedPoolNamed("block1@lvmdriver-b1"), seedPoolNamed("network@lvmdriver-network")
	immutable(t, e.c.BackendDir(b1.host, b1.backend))
	immutable(t, e.c.BackendDir(net.host, net.backend))
	id := e.create(t, "fails-everywhere", 1, seedType, "")
	first := e.model.place(t, "nova", 1)
	second := e.model.place(t, "nova", 1, first)
	e.wait(t, id, "error")
	checkPlacements(t, e.c, id, first, second)
	checkCreateFailed(t, e.c, b1.host, id)
	checkCreateFailed(t, e.c, net.host, id)
	reason := schedulerFailure(t, e.c, id)
	for _, want := range []string{"No valid backend: 0/4 pools fit", "2 already failed this volume", "2 in another availability zone"} {
		if !strings.Contains(reason, want) {
			t.Errorf("the scheduler's reason for %s, %q, lacks %q", id, reason, want)
		}
	}
	// How the storage failed must reach the scheduler's log too, in the reason or as Cinder's
	// "Error scheduling <volume> from last vol-service: <host> : <error>" at each retry: the
	// reason alone ("2 already failed this volume") does not say why.
	if !slices.ContainsFunc(processLines(e.c, cluster.Scheduler, id), func(l string) bool { return strings.Contains(l, "operation not permitted") }) {
		t.Errorf("the scheduler's log never says how the storage of %s failed (%q, the error the volume services handed back); its reason: %q",
			id, "operation not permitted", reason)
	}
	for _, p := range []seedPool{b1, net} {
		if m, _ := filepath.Glob(filepath.Join(e.c.BackendDir(p.host, p.backend), "volume-"+id+"*")); len(m) > 0 {
			t.Errorf("%s: failed create left %v", p.service(), m)
		}
	}
}

// TestSchedulerMaxAttempts makes the storage of all four backends of one zone fail: the
// volume is tried on three of them (scheduler_max_attempts, default 3), never on the fourth,
// and ends in error; the scheduler logs that the attempts are exhausted, with the last error.
func TestSchedulerMaxAttempts(t *testing.T) {
	hosts := []string{"node1", "node2", "node3", "node4"}
	c := startCluster(t, cluster.Options{Name: "scoria_sched", VolumeHosts: hosts})
	for _, h := range hosts {
		immutable(t, c.VolumeDir(h))
	}
	v, err := c.Client().CreateVolume(ctxT(t, 30*time.Second), blockstorage.CreateVolumeOpts{Name: "fails-everywhere", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.WaitVolumeStatus(v.ID, 60*time.Second, "error"); err != nil {
		t.Fatalf("volume %s: %v (last status %q)", v.ID, err, got)
	}
	placed := placements(c, v.ID)
	var tried []string
	for i, p := range placed {
		if p.attempt != i+1 {
			t.Errorf("placement %d of %s is attempt %d: %v", i+1, v.ID, p.attempt, placed)
		}
		if slices.Contains(tried, p.host) {
			t.Errorf("volume %s placed twice on %s: %v", v.ID, p.host, placed)
		}
		tried = append(tried, p.host)
	}
	if len(placed) != 3 {
		t.Fatalf("volume %s was placed %d times (%v), want 3 (scheduler_max_attempts)", v.ID, len(placed), placed)
	}
	failedOn := 0
	for _, h := range hosts {
		if len(createFailures(c, h, v.ID)) > 0 {
			failedOn++
		}
	}
	if failedOn != 3 {
		t.Errorf("%d volume services logged the failed create of %s, want 3", failedOn, v.ID)
	}
	reason := schedulerFailure(t, c, v.ID)
	for _, want := range []string{"exceeded 3 scheduling attempts", "last error:", "operation not permitted"} {
		if !strings.Contains(reason, want) {
			t.Errorf("the scheduler's reason for %s, %q, lacks %q", v.ID, reason, want)
		}
	}
}

// immutable makes dir immutable with chattr +i — not even root may then create a file in it,
// so the backend's storage really fails — until t ends. Without root or chattr the test is
// skipped (fails under CI=true).
func immutable(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "making a backend's directory fail needs root (chattr +i)")
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		unavailable(t, "chattr +i %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
}

// placement is one "volume placed" line of the scheduler's log.
type placement struct {
	attempt int
	host    string
}

// placements are the scheduler's placements of volume id, in log order.
func placements(c *cluster.Cluster, id string) []placement {
	var out []placement
	for _, line := range processLines(c, cluster.Scheduler, id) {
		if logField(line, "msg") != "volume placed" {
			continue
		}
		n, _ := strconv.Atoi(logField(line, "attempt"))
		out = append(out, placement{attempt: n, host: logField(line, "host")})
	}
	return out
}

// checkPlacements checks that the scheduler placed volume id on pools, attempt after attempt.
func checkPlacements(t *testing.T, c *cluster.Cluster, id string, pools ...string) {
	t.Helper()
	var want []placement
	for i, p := range pools {
		want = append(want, placement{attempt: i + 1, host: p})
	}
	if got := placements(c, id); !slices.Equal(got, want) {
		t.Errorf("the scheduler placed %s %v, want %v", id, got, want)
	}
}

// createFailures are the lines in which host's volume service says the storage of volume id
// could not be made.
func createFailures(c *cluster.Cluster, host, id string) []string {
	var out []string
	for _, line := range processLines(c, cluster.VolumeProcess(host), id) {
		if logField(line, "level") == "error" && strings.HasPrefix(logField(line, "msg"), "create failed on the backend") {
			out = append(out, line)
		}
	}
	return out
}

// checkCreateFailed checks that host's volume service logged the failed create of volume id,
// with the storage's error (an immutable directory: operation not permitted).
func checkCreateFailed(t *testing.T, c *cluster.Cluster, host, id string) {
	t.Helper()
	lines := createFailures(c, host, id)
	if len(lines) != 1 {
		t.Errorf("volume service of %s logged %d failed creates of %s, want 1: %q", host, len(lines), id, lines)
		return
	}
	if errText := logField(lines[0], "error"); !strings.Contains(errText, "operation not permitted") {
		t.Errorf("volume service of %s: the failure of %s gives error %q, want the storage's (operation not permitted)", host, id, errText)
	}
}

// schedulerFailure is the reason the scheduler logged for not placing volume id.
func schedulerFailure(t *testing.T, c *cluster.Cluster, id string) string {
	t.Helper()
	var reasons []string
	for _, line := range processLines(c, cluster.Scheduler, id) {
		if logField(line, "msg") == "volume could not be scheduled" {
			reasons = append(reasons, logField(line, "reason"))
		}
	}
	if len(reasons) != 1 {
		t.Fatalf("the scheduler logged %d failures of %s, want 1: %q", len(reasons), id, reasons)
	}
	t.Logf("scheduler: %s", reasons[0])
	return reasons[0]
}

// processLines are the lines of the named process's log that mention substr.
func processLines(c *cluster.Cluster, name, substr string) []string {
	var out []string
	for _, l := range c.Grep(substr) {
		if line, ok := strings.CutPrefix(l, name+": "); ok {
			out = append(out, line)
		}
	}
	return out
}

// logField is the value of key in a logfmt line (logrus' text format), unquoted.
func logField(line, key string) string {
	re := regexp.MustCompile(`(?:^| )` + regexp.QuoteMeta(key) + `=("(?:[^"\\]|\\.)*"|\S*)`)
	m := re.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	if s, err := strconv.Unquote(m[1]); err == nil {
		return s
	}
	return m[1]
}

// gibText is a capacity as the scheduler's sentences write it.
func gibText(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// parsePropertyTables reads output made of several Property/Value tables (cinder get-pools),
// one map per table.
func parsePropertyTables(out string) []map[string]string {
	var tables []map[string]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			tables = append(tables, parseProperties(strings.Join(cur, "\n")))
		}
		cur = nil
	}
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) == 2 && strings.TrimSpace(cells[0]) == "Property" && strings.TrimSpace(cells[1]) == "Value" {
			flush()
		}
		cur = append(cur, line)
	}
	flush()
	var nonEmpty []map[string]string
	for _, t := range tables {
		if len(t) > 0 {
			nonEmpty = append(nonEmpty, t)
		}
	}
	return nonEmpty
}
