package nfs

import (
	"bytes"
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// The benchmarks run the driver, built from cinder.conf values (volume_driver = nfs, sparse
// raw volumes, nfs_snapshot_support = true), on the real NFS server's shares. Its files reach
// the exports through BindMounter, the TEST STAND-IN for the kernel NFS mount (the real server
// answers each share's MOUNT at set-up and at every report): the numbers are the driver's own
// cost — its files, qemu-img, the chain's .info — on the exported directories, not NFS wire
// throughput. Each reports ops/s (over the measured operations only) and their p50 and p99
// latency in milliseconds. Run:
//
//	go test -run '^$' -bench . -benchtime 50x ./internal/backend/nfs/

// latencies keeps every measured operation's duration and reports them.
type latencies []time.Duration

// measure runs op, measured, and keeps its duration; an error ends the benchmark.
func (l *latencies) measure(b *testing.B, what string, op func() error) {
	b.Helper()
	start := time.Now()
	err := op()
	*l = append(*l, time.Since(start))
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}

// report adds ops/s, p50-ms and p99-ms to the benchmark's results.
func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	sorted := append(latencies(nil), l...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	at := func(q float64) time.Duration {
		return sorted[int(math.Ceil(q*float64(len(sorted))))-1]
	}
	b.ReportMetric(float64(len(sorted))/total.Seconds(), "ops/s")
	b.ReportMetric(float64(at(0.50))/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(at(0.99))/float64(time.Millisecond), "p99-ms")
}

// benchDriver is the driver on the real server's shares, set up; it skips without the server.
func benchDriver(b *testing.B) (*Driver, context.Context) {
	b.Helper()
	env := requireServer(b)
	d := serverDriver(b, env, serverConfig{name: "bench", sparse: true}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	if err := d.Setup(ctx); err != nil {
		b.Fatalf("Setup: %v", err)
	}
	return d, ctx
}

// benchSource makes a 1 GiB volume with 4 MiB written at its start (through the mounted
// share), deleted at the end.
func benchSource(b *testing.B, d *Driver, ctx context.Context) driver.Volume {
	b.Helper()
	v := newVolume(1)
	data, err := d.Create(ctx, v)
	if err != nil {
		b.Fatalf("Create source: %v", err)
	}
	v.Data = data
	b.Cleanup(func() { d.Delete(context.Background(), v) })
	probe := qemuProbe(&d)
	if err := probe.WriteAt(ctx, v, bytes.Repeat([]byte{'S'}, 4<<20), 0); err != nil {
		b.Fatalf("write 4 MiB into the source: %v", err)
	}
	return v
}

// deleteUntimed removes volume v without counting it.
func deleteUntimed(b *testing.B, d *Driver, ctx context.Context, v driver.Volume) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	if err := d.Delete(ctx, v); err != nil {
		b.Fatalf("Delete %s: %v", v.ID, err)
	}
}

// BenchmarkCreateDelete: create a 1 GiB sparse raw volume and delete it (one op).
func BenchmarkCreateDelete(b *testing.B) {
	d, ctx := benchDriver(b)
	var l latencies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := newVolume(1)
		l.measure(b, "create+delete", func() error {
			data, err := d.Create(ctx, v)
			if err != nil {
				return err
			}
			v.Data = data
			return d.Delete(ctx, v)
		})
	}
	b.StopTimer()
	l.report(b)
}

// BenchmarkClone: clone a 1 GiB volume with 4 MiB written (qemu-img convert); the clone's
// delete is not counted.
func BenchmarkClone(b *testing.B) {
	d, ctx := benchDriver(b)
	src := benchSource(b, d, ctx)
	var l latencies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := newVolume(1)
		l.measure(b, "clone", func() error {
			data, err := d.CreateClonedVolume(ctx, v, src)
			v.Data = data
			return err
		})
		deleteUntimed(b, d, ctx, v)
	}
	b.StopTimer()
	l.report(b)
}

// BenchmarkSnapshotCreateDelete: take a snapshot of a 1 GiB volume with 4 MiB written (a
// qcow2 overlay and the .info) and delete it (merging the overlay back), one op.
func BenchmarkSnapshotCreateDelete(b *testing.B) {
	d, ctx := benchDriver(b)
	v := benchSource(b, d, ctx)
	var l latencies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := driver.Snapshot{ID: newUUID(), VolumeID: v.ID, SizeGiB: v.SizeGiB}
		l.measure(b, "snapshot create+delete", func() error {
			data, err := d.CreateSnapshot(ctx, s, v)
			if err != nil {
				return err
			}
			s.Data = data
			return d.DeleteSnapshot(ctx, s, v)
		})
	}
	b.StopTimer()
	l.report(b)
}

// BenchmarkCreateFromSnapshot: make a 1 GiB volume from a snapshot of a volume with 4 MiB
// written (qemu-img convert of the snapshot's backing file); its delete is not counted.
func BenchmarkCreateFromSnapshot(b *testing.B) {
	d, ctx := benchDriver(b)
	src := benchSource(b, d, ctx)
	s := driver.Snapshot{ID: newUUID(), VolumeID: src.ID, SizeGiB: src.SizeGiB}
	data, err := d.CreateSnapshot(ctx, s, src)
	if err != nil {
		b.Fatalf("CreateSnapshot: %v", err)
	}
	s.Data = data
	b.Cleanup(func() { d.DeleteSnapshot(context.Background(), s, src) })
	var l latencies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := newVolume(1)
		l.measure(b, "create from snapshot", func() error {
			data, err := d.CreateVolumeFromSnapshot(ctx, v, s)
			v.Data = data
			return err
		})
		deleteUntimed(b, d, ctx, v)
	}
	b.StopTimer()
	l.report(b)
}
