package volume

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// BenchmarkImageVolume times, on the local-file backend against the real Glance (file store),
// with a 1 GiB raw image written in every byte:
//   - download: a 1 GiB volume made from the image (download into image_conversion_dir,
//     check, convert into the volume file);
//   - cache-warm: the same with the image-volume cache holding the image (a clone of the
//     cache's volume, no download);
//   - upload: os-volume_upload_image of such a volume as raw (read out, uploaded to Glance).
//
// Each reports MB/s of the image's 1 GiB. The README's images speed table quotes it:
//
//	go test -run '^$' -bench BenchmarkImageVolume -benchtime 3x ./internal/volume/
func BenchmarkImageVolume(b *testing.B) {
	e := newImageEnv(b, 5*time.Minute)
	raw := filepath.Join(b.TempDir(), "image.raw")
	run(b, "qemu-img", "create", "-q", "-f", "raw", raw, "1G")
	run(b, "qemu-io", "-f", "raw", "-c", "write -P 0x5c 0 1G", raw)
	img := e.upload(b, raw, "raw", nil)
	create := func(b *testing.B) *resource.Volume {
		v := e.imageVolume(resource.StatusCreating, 1, img)
		if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, ImageID: img.ID}); err != nil {
			b.Fatal(err)
		}
		if got := e.status(v.ID); got != resource.StatusAvailable {
			b.Fatalf("volume %s is %s, want available (%+v)", v.ID, got, e.lastMessage(v.ID))
		}
		return v
	}
	drop := func(b *testing.B, v *resource.Volume) {
		if err := e.drv.Delete(context.Background(), driver.Volume{ID: v.ID}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("download", func(b *testing.B) {
		b.SetBytes(driver.GiB)
		for range b.N {
			drop(b, create(b))
		}
	})
	b.Run("cache-warm", func(b *testing.B) {
		e.m.Images.Cache = ImageCacheOptions{Enabled: true, ProjectID: internalProject, UserID: internalUser}
		defer func() { e.m.Images.Cache = ImageCacheOptions{} }()
		total := 1000.0
		if err := e.store.UpsertPool(context.Background(), resource.PoolCapacity{Name: host + "#file", Backend: host, TotalGB: &total,
			Ratio: 1, ReportedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		drop(b, create(b)) // seeds the cache
		b.SetBytes(driver.GiB)
		b.ResetTimer()
		for range b.N {
			drop(b, create(b))
		}
	})
	b.Run("upload", func(b *testing.B) {
		v := create(b)
		b.SetBytes(driver.GiB)
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			to := e.upload(b, "", "raw", nil)
			e.startUpload(v.ID, to.ID)
			b.StartTimer()
			if err := e.m.CopyVolumeToImage(e.ctx, rpcapi.CopyVolumeToImageArgs{VolumeID: v.ID, ImageID: to.ID,
				DiskFormat: "raw", ContainerFormat: "bare", PreviousStatus: resource.StatusAvailable}); err != nil {
				b.Fatal(err)
			}
			if got := e.status(v.ID); got != resource.StatusAvailable {
				b.Fatalf("volume %s is %s after its upload (%+v)", v.ID, got, e.lastMessage(v.ID))
			}
		}
	})
}
