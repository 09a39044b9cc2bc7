//go:build ceph

package rbd

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// benchOps runs op b.N times at concurrency 4 and reports volumes/s and the p99 latency.
func benchOps(b *testing.B, op func(i int) error) {
	b.Helper()
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "volumes/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

func benchDriver(b *testing.B) *Driver {
	c := clusterFromEnv()
	d := &Driver{Conn: ConnConfig{ClusterName: "ceph", ConfFile: c.conf, User: c.user, Keyring: c.keyring, Pool: c.pool,
		Connect: 10 * time.Second, OpTimeout: 30 * time.Second}, MaxCloneDepth: 5, ChunkSizeMiB: 4}
	if err := d.Setup(context.Background()); err != nil {
		b.Skipf("the Ceph test cluster cannot be used: %v", err)
	}
	b.Cleanup(d.Close)
	return d
}

func vols(n int) []driver.Volume {
	out := make([]driver.Volume, n)
	for i := range out {
		out[i] = volume(1)
	}
	return out
}

// BenchmarkCreate measures Create of 1 GiB volumes (removed afterwards, not timed).
func BenchmarkCreate(b *testing.B) {
	d := benchDriver(b)
	vs := vols(b.N)
	b.Cleanup(func() {
		for _, v := range vs {
			_ = d.Delete(context.Background(), v)
		}
	})
	b.ResetTimer()
	benchOps(b, func(i int) error { _, err := d.Create(context.Background(), vs[i]); return err })
}

// BenchmarkCloneFromSnapshot measures CreateVolumeFromSnapshot of one snapshot.
func BenchmarkCloneFromSnapshot(b *testing.B) {
	d := benchDriver(b)
	ctx := context.Background()
	src := volume(1)
	if _, err := d.Create(ctx, src); err != nil {
		b.Fatal(err)
	}
	s := driver.Snapshot{ID: uuid.NewString(), VolumeID: src.ID, SizeGiB: 1}
	if _, err := d.CreateSnapshot(ctx, s, src); err != nil {
		b.Fatal(err)
	}
	vs := vols(b.N)
	b.Cleanup(func() {
		for _, v := range vs {
			_ = d.Delete(ctx, v)
		}
		_ = d.DeleteSnapshot(ctx, s, src)
		_ = d.Delete(ctx, src)
	})
	b.ResetTimer()
	benchOps(b, func(i int) error { _, err := d.CreateVolumeFromSnapshot(ctx, vs[i], s); return err })
}

// BenchmarkDelete measures Delete of 1 GiB volumes (created beforehand, not timed).
func BenchmarkDelete(b *testing.B) {
	d := benchDriver(b)
	ctx := context.Background()
	vs := vols(b.N)
	for _, v := range vs {
		if _, err := d.Create(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	benchOps(b, func(i int) error { return d.Delete(ctx, vs[i]) })
}

// BenchmarkImageToVolume times a 1 GiB volume made from a 1 GiB raw image whose every byte
// is data, kept in Glance's ceph store on the test cluster: "clone" is CloneImage (a
// copy-on-write clone of the image's snapshot), "copy" is Create and CopyImageToVolume of
// the same image from a local raw file (the download path, without the download). Volumes
// are removed afterwards, not timed.
func BenchmarkImageToVolume(b *testing.B) {
	d := benchDriver(b)
	g := requireGlance(b)
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "image.raw")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	for mib := 0; mib < 1024; mib++ {
		binary.LittleEndian.PutUint64(buf, uint64(mib)+1)
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	img := g.upload(b, path, "raw", "ceph")
	b.Logf("uploaded the 1 GiB image to Glance's ceph store in %s", time.Since(t0).Round(time.Millisecond))
	run := func(b *testing.B, make func(v driver.Volume) error) {
		vs := vols(b.N)
		b.Cleanup(func() {
			for _, v := range vs {
				_ = d.Delete(ctx, v)
			}
		})
		b.SetBytes(driver.GiB)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := make(vs[i]); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = d.Delete(ctx, vs[i])
			b.StartTimer()
		}
	}
	b.Run("clone", func(b *testing.B) {
		run(b, func(v driver.Volume) error {
			_, ok, err := d.CloneImage(ctx, v, img)
			if err == nil && !ok {
				err = errors.New("not cloned")
			}
			return err
		})
	})
	b.Run("copy", func(b *testing.B) {
		run(b, func(v driver.Volume) error {
			if _, err := d.Create(ctx, v); err != nil {
				return err
			}
			return d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: path, Format: "raw"})
		})
	})
}
