package scheduler

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// pool builds a driver pool report: thick when ratio is "", thin otherwise.
func pool(name string, total, free, provisioned float64, thin bool, ratio string) driver.Pool {
	return driver.Pool{Name: name, TotalCapacityGB: driver.Capacity(total), FreeCapacityGB: driver.Capacity(free),
		ProvisionedCapacityGB: provisioned, AllocatedCapacityGB: provisioned,
		ThinProvisioningSupport: thin, ThickProvisioningSupport: !thin, MaxOverSubscriptionRatio: ratio}
}

func with(p driver.Pool, f func(*driver.Pool)) driver.Pool { f(&p); return p }

// down is p as a volume service reports it while its backend cannot reach its storage:
// capacity 'unknown' and backend_state 'down'.
func down(p driver.Pool) driver.Pool {
	p.TotalCapacityGB, p.FreeCapacityGB = driver.Unknown, driver.Unknown
	p.Extra = map[string]any{"backend_state": "down"}
	return p
}

func report(host, zone string, pools ...driver.Pool) rpcapi.CapabilitiesArgs {
	return rpcapi.CapabilitiesArgs{Host: host, AvailabilityZone: zone, ReportedAt: time.Now(),
		Stats: driver.Stats{VolumeBackendName: "lvmbackend", VendorName: "Open Source", DriverVersion: "1.0",
			StorageProtocol: "iSCSI", Pools: pools}}
}

// poolsOf builds the scheduler's pools of reports.
func poolsOf(reports ...rpcapi.CapabilitiesArgs) []*Pool {
	var out []*Pool
	for _, r := range reports {
		out = append(out, newPools(r)...)
	}
	return out
}

// one builds a single pool on host a@f in zone nova.
func one(p driver.Pool) *Pool { return poolsOf(report("a@f", "nova", p))[0] }

func req(size float64, specs map[string]string) *Request {
	r := &Request{VolumeID: "7a1c3d4e-0000-4000-8000-000000000001", Size: size, ExtraSpecs: specs,
		Volume: map[string]any{"size": size}}
	r.prepare()
	return r
}

func newScheduler(now time.Time) *Scheduler {
	return &Scheduler{Log: logrus.New(), ServiceDownTime: time.Minute, Now: func() time.Time { return now }}
}

func svc(host string, updated time.Time, disabled bool) *resource.Service {
	return &resource.Service{Binary: resource.BinaryVolume, Host: host, UpdatedAt: &updated, CreatedAt: updated, Disabled: disabled}
}

// testStore is the scheduler's Store as it runs: a real *db.Store on a SQLite file of the
// test's own, migrated, with Cinder's default quotas lifted (the tests make more volumes than
// they allow; quotas are tested in internal/db and internal/api). raw is a second connection
// to the same file, for the one thing no store method sets: when a service was last heard from.
type testStore struct {
	*db.Store
	t   testing.TB
	raw *sql.DB
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := db.Open(ctx, "sqlite:///"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateQuotaClass(ctx, resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: -1, resource.QuotaSnapshots: -1, resource.QuotaGigabytes: -1,
	}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &testStore{Store: st, t: t, raw: raw}
}

// volume inserts v (of project proj unless it names one). A host it names holds no claim:
// a claim is made only by ClaimPlacement.
func (st *testStore) volume(v resource.Volume) *resource.Volume {
	st.t.Helper()
	if v.ProjectID == "" {
		v.ProjectID = "proj"
	}
	v.UserID, v.AttachStatus, v.AvailabilityZone, v.Metadata = "user", resource.AttachDetached, "nova", map[string]string{}
	if _, err := st.CreateVolume(context.Background(), &v); err != nil {
		st.t.Fatal(err)
	}
	return &v
}

// register registers each of svcs as a volume service, disabled as it says, last heard from
// at its UpdatedAt.
func (st *testStore) register(svcs ...*resource.Service) {
	st.t.Helper()
	for _, s := range svcs {
		if _, err := st.RegisterService(context.Background(), &resource.Service{Binary: resource.BinaryVolume, Host: s.Host,
			Topic: rpc.TopicVolume, AvailabilityZone: "nova", Disabled: s.Disabled}); err != nil {
			st.t.Fatal(err)
		}
		if s.UpdatedAt != nil {
			at := s.UpdatedAt.UTC().Format("2006-01-02 15:04:05.000000")
			if _, err := st.raw.Exec("UPDATE services SET created_at = ?, updated_at = ? WHERE host = ?", at, at, s.Host); err != nil {
				st.t.Fatal(err)
			}
		}
	}
}

// setRoom makes each pool of room take just that many more GiB in claims: its row (recorded
// from its report) becomes a thick pool with no reserve whose total is room plus what it
// holds already. Pools not in room keep the figures of their report.
func (st *testStore) setRoom(room map[string]int) {
	st.t.Helper()
	ctx := context.Background()
	for name, r := range room {
		p, err := st.GetPool(ctx, name)
		if err != nil {
			st.t.Fatalf("pool %s has no row to set its room: %v", name, err)
		}
		total := float64(int64(r) + p.AllocatedGB)
		if err := st.UpsertPool(ctx, resource.PoolCapacity{Name: name, Backend: p.Backend, TotalGB: &total,
			Ratio: 1, ReportedAt: p.ReportedAt}); err != nil {
			st.t.Fatal(err)
		}
		if got := st.allocated(name); got != p.AllocatedGB {
			st.t.Fatalf("pool %s: recording its room changed its claims from %d to %d GiB", name, p.AllocatedGB, got)
		}
	}
}

// allocated is the GiB claimed on pool name, by the pools table; -1 when it has no row.
func (st *testStore) allocated(name string) int64 {
	st.t.Helper()
	p, err := st.GetPool(context.Background(), name)
	if errors.Is(err, resource.ErrNotFound) {
		return -1
	}
	if err != nil {
		st.t.Fatal(err)
	}
	return p.AllocatedGB
}

// claims is what every pool holds in claims, by the pools table.
func (st *testStore) claims() map[string]int64 {
	st.t.Helper()
	pools, err := st.ListPools(context.Background())
	if err != nil {
		st.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, p := range pools {
		out[p.Name] = p.AllocatedGB
	}
	return out
}

// messages are the user messages of project proj.
func (st *testStore) messages() []*resource.Message {
	st.t.Helper()
	ms, err := st.ListMessages(context.Background(), resource.MessageFilter{ProjectID: "proj"})
	if err != nil {
		st.t.Fatal(err)
	}
	return ms
}

// status is volume id's status and host.
func (st *testStore) status(id string) (string, string) {
	st.t.Helper()
	v, err := st.GetVolume(context.Background(), id)
	if err != nil {
		st.t.Fatal(err)
	}
	return v.Status, v.Host
}

// reportTo hands reports to s as the RPC handler does: the pools table records their
// capacity figures, then the snapshot takes them.
func reportTo(t testing.TB, s *Scheduler, reports ...rpcapi.CapabilitiesArgs) {
	t.Helper()
	for _, r := range reports {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Handle(context.Background(), &rpc.Message{Method: rpcapi.UpdateCapabilities, Args: b}); err != nil {
			t.Fatal(err)
		}
	}
}

// volumeQueues is the real in-process bus a scheduler under test casts to, with a consumer
// on the queue of each volume service host that records where each create_volume arrived.
type volumeQueues struct {
	bus *rpc.Local

	mu      sync.Mutex
	arrived []string // the host of each create_volume, in arrival order
	other   []string // any other method: a scheduler casts nothing else to a volume service
}

// newVolumeQueues serves the queues of hosts (host@backend) until the end of t.
func newVolumeQueues(t testing.TB, hosts ...string) *volumeQueues {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	q := &volumeQueues{bus: rpc.NewLocal(log)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = q.bus.Serve(ctx, rpc.Target{Topic: rpc.TopicVolume, Server: h}, func(_ context.Context, m *rpc.Message) (any, error) {
				q.mu.Lock()
				defer q.mu.Unlock()
				if m.Method != rpcapi.CreateVolume {
					q.other = append(q.other, h+": "+m.Method)
					return nil, nil
				}
				q.arrived = append(q.arrived, h)
				return nil, nil
			})
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		q.bus.Close()
	})
	return q
}

// casts waits until want create_volume messages arrived (for at most 5 s), then 50 ms more so
// that one too many shows, and returns the hosts they arrived at.
func (q *volumeQueues) casts(t testing.TB, want int) []string {
	t.Helper()
	read := func() ([]string, []string) {
		q.mu.Lock()
		defer q.mu.Unlock()
		return append([]string(nil), q.arrived...), append([]string(nil), q.other...)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := read()
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	got, other := read()
	if len(other) != 0 {
		t.Errorf("the scheduler cast %v to volume services", other)
	}
	return got
}

func marshalArgs(args rpcapi.GetPoolsArgs) (*rpc.Message, error) {
	b, err := json.Marshal(args)
	return &rpc.Message{Method: rpcapi.GetPools, Args: b}, err
}
