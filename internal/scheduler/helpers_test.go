package scheduler

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/pkg/driver"
)

// pool builds a driver pool report: thick when ratio is "", thin otherwise.
func pool(name string, total, free, provisioned float64, thin bool, ratio string) driver.Pool {
	return driver.Pool{Name: name, TotalCapacityGB: driver.Capacity(total), FreeCapacityGB: driver.Capacity(free),
		ProvisionedCapacityGB: provisioned, AllocatedCapacityGB: provisioned,
		ThinProvisioningSupport: thin, ThickProvisioningSupport: !thin, MaxOverSubscriptionRatio: ratio}
}

func with(p driver.Pool, f func(*driver.Pool)) driver.Pool { f(&p); return p }

func report(host, zone string, pools ...driver.Pool) message.CapabilitiesArgs {
	return message.CapabilitiesArgs{Host: host, AvailabilityZone: zone, ReportedAt: time.Now(),
		Stats: driver.Stats{VolumeBackendName: "lvmbackend", VendorName: "Open Source", DriverVersion: "1.0",
			StorageProtocol: "iSCSI", Pools: pools}}
}

// poolsOf builds the scheduler's pools of reports.
func poolsOf(reports ...message.CapabilitiesArgs) []*Pool {
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

// fakeStore is the scheduler's Store over maps.
type fakeStore struct {
	mu       sync.Mutex
	volumes  map[string]*resource.Volume
	services []*resource.Service
	counts   map[string]int
	// room is what each pool still takes in claims (GiB); a pool not in it takes anything.
	room   map[string]int
	claims []resource.Claim                 // the claims made
	pools  map[string]resource.PoolCapacity // recorded by UpsertPool
	// messages are the user messages written with winning transitions.
	messages []resource.Message
}

func (f *fakeStore) UpsertPool(_ context.Context, p resource.PoolCapacity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pools == nil {
		f.pools = map[string]resource.PoolCapacity{}
	}
	f.pools[p.Name] = p
	return nil
}

func (f *fakeStore) ClaimPlacement(_ context.Context, c resource.Claim) (resource.ClaimResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.volumes[c.VolumeID]
	if !ok {
		return resource.ClaimResult{}, resource.ErrNotFound
	}
	if v.Status != resource.StatusCreating || v.Host != c.FromHost {
		return resource.ClaimResult{}, resource.ErrInvalidState
	}
	if room, ok := f.room[c.Pool]; ok {
		if room < c.Size {
			return resource.ClaimResult{AllocatedGB: 100 - float64(room), LimitGB: 100}, nil
		}
		f.room[c.Pool] = room - c.Size
	}
	if room, ok := f.room[c.FromHost]; ok {
		f.room[c.FromHost] = room + c.Size
	}
	v.Host = c.Pool
	f.claims = append(f.claims, c)
	return resource.ClaimResult{Claimed: true}, nil
}

func (f *fakeStore) GetVolume(_ context.Context, id string) (*resource.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.volumes[id]
	if !ok {
		return nil, resource.ErrNotFound
	}
	c := *v
	return &c, nil
}

func (f *fakeStore) TransitionVolume(_ context.Context, id string, from []string, ch resource.VolumeChange, _ ...resource.OutboxMessage) ([]resource.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.volumes[id]
	if !ok {
		return nil, resource.ErrNotFound
	}
	if !slices.Contains(from, v.Status) {
		return nil, &resource.InvalidStateError{Kind: "Volume", ID: id, Status: v.Status, Want: from}
	}
	v.Status = ch.Status
	if ch.Message != nil {
		f.messages = append(f.messages, *ch.Message)
	}
	if ch.Host != nil {
		v.Host = *ch.Host
	}
	return nil, nil
}

func (f *fakeStore) ListServices(context.Context, resource.ServiceFilter) ([]*resource.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*resource.Service(nil), f.services...), nil
}

func (f *fakeStore) CountVolumesByHost(context.Context) (map[string]int, error) { return f.counts, nil }

// castRecorder is a Transport that records the server of every cast.
type castRecorder func(server string)

func (c castRecorder) Call(context.Context, rpc.Target, string, any, any) error { return nil }
func (c castRecorder) Cast(_ context.Context, t rpc.Target, _ string, _ any) error {
	c(t.Server)
	return nil
}
func (c castRecorder) Fanout(context.Context, string, string, any) error    { return nil }
func (c castRecorder) Serve(context.Context, rpc.Target, rpc.Handler) error { return nil }
func (c castRecorder) Close() error                                         { return nil }

func marshalArgs(args message.GetPoolsArgs) (*rpc.Message, error) {
	b, err := json.Marshal(args)
	return &rpc.Message{Method: message.GetPools, Args: b}, err
}
