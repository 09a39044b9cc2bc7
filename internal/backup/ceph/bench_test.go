//go:build ceph

package ceph

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"

	"github.com/scoria/scoria/internal/resource"
)

// BenchmarkRBD measures, on a 1 GiB RBD volume with 10 % written in scattered 4 MiB pieces,
// a full backup, an incremental after 1 % more, and a restore to a new volume, in MB/s of
// the volume's size; and the raw copy of the same image (read it whole, write a new one) as
// the physical limit of this cluster.
func BenchmarkRBD(b *testing.B) {
	f := requireCluster(b, 128*mib) // backup_ceph_chunk_size's default
	const size = 1 << 30
	const piece = 4 * mib
	r := rand.New(rand.NewSource(5))
	vol := f.volume(size)
	slots := r.Perm(size / piece)
	buf := randBytes(r, piece)
	for _, s := range slots[:size/piece/10] { // 10 %
		f.write(vol, int64(s)*piece, buf)
	}
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

	b.Run("raw-copy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			src := f.open(vol)
			dstName := "volume-" + vol + ".rawcopy"
			if err := f.d.createImage(f.volumes, dstName, size); err != nil {
				b.Fatal(err)
			}
			dst, err := rbd.OpenImage(f.volumes, dstName, rbd.NoSnapshot)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if _, err := f.d.copyRange(context.Background(), src, dst, 0, size, false, nil); err != nil {
				b.Fatal(err)
			}
			_ = dst.Flush()
			el := time.Since(start)
			dst.Close()
			src.Close()
			f.removeImage(f.volumes, dstName)
			b.ReportMetric(mbps(el), "MB/s")
		}
	})
	b.Run("full-incremental-restore", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			full := newBackup(vol, nil)
			start := time.Now()
			f.take(full, nil, vol)
			elFull := time.Since(start)
			base := "volume-" + vol + ".backup." + full.ID

			for _, s := range slots[size/piece/10 : size/piece/10+size/piece/100+1] { // 1 % more
				f.write(vol, int64(s)*piece, buf)
			}
			inc := newBackup(vol, full)
			start = time.Now()
			f.take(inc, full, vol)
			elInc := time.Since(start)

			id := f.volume(size)
			dst := f.open(id)
			start = time.Now()
			if err := f.d.Restore(context.Background(), []*resource.Backup{full, inc}, id, dst, nil); err != nil {
				b.Fatal(err)
			}
			elRestore := time.Since(start)
			dst.Close()
			f.removeImage(f.volumes, "volume-"+id)
			f.removeImage(f.backups, base)
			b.ReportMetric(mbps(elFull), "full-MB/s")
			b.ReportMetric(mbps(elInc), "incremental-MB/s")
			b.ReportMetric(mbps(elRestore), "restore-MB/s")
		}
	})
}
