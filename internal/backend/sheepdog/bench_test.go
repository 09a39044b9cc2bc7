package sheepdog

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/sheep"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
	"github.com/scoria/scoria/test/sheepsim"
)

// The benchmarks run each operation through the driver and, beside it, the sheep requests
// the driver sends for it through a bare sheep.Client (the protocol floor), both against the
// protocol-level sheep SIMULATOR (a TEST STAND-IN, it answers in microseconds: real sheep
// takes NEW_VDI 28.6 ms and DEL_VDI 36 ms, ../shared/reference/sheepdog.md). What the two
// differ by is the driver's own overhead per operation.
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/backend/sheepdog/
//
// Each sub-benchmark reports ops/s (one caller, one operation at a time: 1 / mean latency of
// the timed operation alone), p50-µs and p99-µs. The set-up and undoing of each iteration (the
// volume a snapshot is taken of, the delete after a create) are not timed.

// benchOp is one operation of a benchmark: prepare and undo are untimed, op is timed.
type benchOp struct {
	prepare func(ctx context.Context, i int) error
	op      func(ctx context.Context, i int) error
	undo    func(ctx context.Context, i int) error
}

// runOp runs o b.N times and reports its rate and latency percentiles.
func runOp(b *testing.B, o benchOp) {
	b.Helper()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if o.prepare != nil {
			b.StopTimer()
			if err := o.prepare(ctx, i); err != nil {
				b.Fatalf("prepare %d: %v", i, err)
			}
			b.StartTimer()
		}
		start := time.Now()
		if err := o.op(ctx, i); err != nil {
			b.Fatalf("op %d: %v", i, err)
		}
		lat = append(lat, time.Since(start))
		if o.undo != nil {
			b.StopTimer()
			if err := o.undo(ctx, i); err != nil {
				b.Fatalf("undo %d: %v", i, err)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	b.ReportMetric(float64(len(lat))/sum.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// benchVolumes names the volumes of one benchmark run (fresh ids, so runs do not collide):
// the i-th volume made, the i-th source and the i-th source's snapshot.
type benchVolumes struct{ ids, srcs, snaps []string }

func idAt(ids *[]string, i int) string {
	for len(*ids) <= i {
		*ids = append(*ids, uuid.NewString())
	}
	return (*ids)[i]
}

func (n *benchVolumes) vol(i int) driver.Volume {
	id := idAt(&n.ids, i)
	return driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: 1}
}

func (n *benchVolumes) src(i int) driver.Volume {
	id := idAt(&n.srcs, i)
	return driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: 1}
}

func (n *benchVolumes) snap(i int) driver.Snapshot {
	id := idAt(&n.snaps, i)
	return driver.Snapshot{ID: id, Name: driver.SnapshotStorageName(id), VolumeID: n.src(i).ID, SizeGiB: 1}
}

func BenchmarkSheepdog(b *testing.B) {
	sim := benchSimulator(b)
	d := benchDriver(b, sim)
	raw := sheep.New(sim.Addr(), sheep.Options{})
	b.Cleanup(func() { raw.Close() })
	size := uint64(driver.GiB)
	data := bytes.Repeat([]byte{0x5a}, 8<<20)

	// Sheep never reuses a VID and finds a VDI by scanning the VIDs from its name's hash, so
	// thousands of snapshots of one VDI would make every later lookup of it slow, on real
	// sheep as on the simulator. Each iteration of the snapshot and clone benchmarks takes a
	// fresh source VDI (1 GiB, 8 MiB written: two objects), made and removed untimed.
	newSource := func(ctx context.Context, n *benchVolumes, i int) error {
		if _, err := d.Create(ctx, n.src(i)); err != nil {
			return err
		}
		return raw.WriteAt(ctx, n.src(i).Name, data, 0)
	}
	newSourceWithSnapshot := func(ctx context.Context, n *benchVolumes, i int) error {
		if err := newSource(ctx, n, i); err != nil {
			return err
		}
		_, err := d.CreateSnapshot(ctx, n.snap(i), n.src(i))
		return err
	}
	dropSource := func(ctx context.Context, n *benchVolumes, i int) error {
		if err := d.DeleteSnapshot(ctx, n.snap(i), n.src(i)); err != nil {
			return err
		}
		return d.Delete(ctx, n.src(i))
	}

	cases := []struct {
		name     string
		driver   func(n *benchVolumes) benchOp
		protocol func(n *benchVolumes) benchOp
	}{
		{
			name: "create",
			driver: func(n *benchVolumes) benchOp {
				return benchOp{
					op:   func(ctx context.Context, i int) error { _, err := d.Create(ctx, n.vol(i)); return err },
					undo: func(ctx context.Context, i int) error { return d.Delete(ctx, n.vol(i)) },
				}
			},
			protocol: func(n *benchVolumes) benchOp {
				return benchOp{
					op:   func(ctx context.Context, i int) error { _, err := raw.Create(ctx, n.vol(i).Name, size); return err },
					undo: func(ctx context.Context, i int) error { return raw.Delete(ctx, n.vol(i).Name, "") },
				}
			},
		},
		{
			name: "delete",
			driver: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { _, err := d.Create(ctx, n.vol(i)); return err },
					op:      func(ctx context.Context, i int) error { return d.Delete(ctx, n.vol(i)) },
				}
			},
			protocol: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { _, err := raw.Create(ctx, n.vol(i).Name, size); return err },
					op:      func(ctx context.Context, i int) error { return raw.Delete(ctx, n.vol(i).Name, "") },
				}
			},
		},
		{
			name: "snapshot-create",
			driver: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSource(ctx, n, i) },
					op: func(ctx context.Context, i int) error {
						_, err := d.CreateSnapshot(ctx, n.snap(i), n.src(i))
						return err
					},
					undo: func(ctx context.Context, i int) error { return dropSource(ctx, n, i) },
				}
			},
			protocol: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSource(ctx, n, i) },
					op: func(ctx context.Context, i int) error {
						_, err := raw.Snapshot(ctx, n.src(i).Name, snapshotTag(n.snap(i)))
						return err
					},
					undo: func(ctx context.Context, i int) error { return dropSource(ctx, n, i) },
				}
			},
		},
		{
			name: "snapshot-delete",
			driver: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSourceWithSnapshot(ctx, n, i) },
					op:      func(ctx context.Context, i int) error { return d.DeleteSnapshot(ctx, n.snap(i), n.src(i)) },
					undo:    func(ctx context.Context, i int) error { return d.Delete(ctx, n.src(i)) },
				}
			},
			protocol: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSourceWithSnapshot(ctx, n, i) },
					op:      func(ctx context.Context, i int) error { return raw.Delete(ctx, n.src(i).Name, snapshotTag(n.snap(i))) },
					undo:    func(ctx context.Context, i int) error { return d.Delete(ctx, n.src(i)) },
				}
			},
		},
		{
			// Cinder's create_cloned_volume: a temporary snapshot, a clone of it, the temporary
			// snapshot removed (the driver also looks the clone up first and checks its size)
			name: "clone",
			driver: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSource(ctx, n, i) },
					op: func(ctx context.Context, i int) error {
						_, err := d.CreateClonedVolume(ctx, n.vol(i), n.src(i))
						return err
					},
					undo: func(ctx context.Context, i int) error {
						if err := d.Delete(ctx, n.vol(i)); err != nil {
							return err
						}
						return dropSource(ctx, n, i)
					},
				}
			},
			protocol: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSource(ctx, n, i) },
					op: func(ctx context.Context, i int) error {
						src, tag := n.src(i).Name, tempTag(n.src(i), n.vol(i).ID)
						if _, err := raw.Snapshot(ctx, src, tag); err != nil {
							return err
						}
						if _, err := raw.Clone(ctx, src, tag, n.vol(i).Name); err != nil {
							return err
						}
						return raw.Delete(ctx, src, tag)
					},
					undo: func(ctx context.Context, i int) error {
						if err := raw.Delete(ctx, n.vol(i).Name, ""); err != nil {
							return err
						}
						return dropSource(ctx, n, i)
					},
				}
			},
		},
		{
			name: "from-snapshot",
			driver: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSourceWithSnapshot(ctx, n, i) },
					op: func(ctx context.Context, i int) error {
						_, err := d.CreateVolumeFromSnapshot(ctx, n.vol(i), n.snap(i))
						return err
					},
					undo: func(ctx context.Context, i int) error {
						if err := d.Delete(ctx, n.vol(i)); err != nil {
							return err
						}
						return dropSource(ctx, n, i)
					},
				}
			},
			protocol: func(n *benchVolumes) benchOp {
				return benchOp{
					prepare: func(ctx context.Context, i int) error { return newSourceWithSnapshot(ctx, n, i) },
					op: func(ctx context.Context, i int) error {
						_, err := raw.Clone(ctx, n.src(i).Name, snapshotTag(n.snap(i)), n.vol(i).Name)
						return err
					},
					undo: func(ctx context.Context, i int) error {
						if err := raw.Delete(ctx, n.vol(i).Name, ""); err != nil {
							return err
						}
						return dropSource(ctx, n, i)
					},
				}
			},
		},
	}
	for _, tc := range cases {
		b.Run(tc.name+"/driver", func(b *testing.B) { runOp(b, tc.driver(&benchVolumes{})) })
		b.Run(tc.name+"/protocol", func(b *testing.B) { runOp(b, tc.protocol(&benchVolumes{})) })
	}

	// nothing of the benchmarks is left
	left, err := raw.List(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if len(left) != 0 {
		b.Fatalf("%d VDIs left after the benchmarks, e.g. %s@%s", len(left), left[0].Name, left[0].Tag)
	}
}

// benchSimulator starts the sheep SIMULATOR on a free port below 10000, as simulator does for
// tests.
func benchSimulator(b *testing.B) *sheepsim.Server {
	b.Helper()
	for port := 7000 + int(time.Now().UnixNano()%2000); port < 10000; port += 7 {
		sim, err := sheepsim.Start(sheepsim.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
		if err == nil {
			b.Cleanup(sim.Stop)
			return sim
		}
	}
	b.Fatal("no free port below 10000 for the sheep simulator")
	return nil
}

// benchDriver is the driver a [sheepdog] section naming the simulator builds.
func benchDriver(b *testing.B, sim *sheepsim.Server) *Driver {
	b.Helper()
	d, ok := drivertest.FromSection(b, "cinder.volume.drivers.sheepdog.SheepdogDriver", driver.Section{Name: "sheepdog", Values: map[string]string{
		"sheepdog_store_address": "127.0.0.1", "sheepdog_store_port": strconv.Itoa(sim.Port()),
	}}).(*Driver)
	if !ok {
		b.Fatal("the Cinder class path did not build a *sheepdog.Driver")
	}
	b.Cleanup(func() { d.Client.Close() })
	if err := d.Setup(context.Background()); err != nil {
		b.Fatalf("setup against the simulator at %s: %v", sim.Addr(), err)
	}
	return d
}
