package posix

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/resource"
)

// The benchmark's volume: a 1 GiB sparse file with 10 % written in scattered 4 MiB pieces
// of random data; an incremental backup follows 1 % more written. Throughput (MB/s) is of
// the volume's size. Run:
//
//	go test -run '^$' -bench BenchmarkDriver -benchtime 1x ./internal/backup/posix/
const (
	benchSize  = 1 << 30
	benchPiece = 4 << 20
)

// writePieces writes n random 4 MiB pieces at random piece-aligned offsets of f.
func writePieces(b *testing.B, f *os.File, rng *rand.Rand, n int) {
	b.Helper()
	buf := make([]byte, benchPiece)
	for range n {
		for i := 0; i < len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		off := int64(rng.IntN(benchSize/benchPiece)) * benchPiece
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

func benchVolume(b *testing.B, dir string, seed uint64) (*os.File, *rand.Rand) {
	b.Helper()
	f, err := os.Create(filepath.Join(dir, "volume"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if err := f.Truncate(benchSize); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	writePieces(b, f, rng, benchSize/benchPiece/10) // 10 %
	return f, rng
}

func BenchmarkDriver(b *testing.B) {
	log := logrus.New()
	log.Out = io.Discard
	for _, algorithm := range []string{"none", "zlib"} {
		b.Run(algorithm, func(b *testing.B) {
			dir := b.TempDir()
			vol, rng := benchVolume(b, dir, 42)
			dev := &fileDevice{File: vol, size: benchSize}
			o := chunked.DefaultOptions() // Cinder's backup_file_size and block size
			o.CompressionAlgorithm = algorithm
			d, err := NewDriver(DriverOptions{Path: filepath.Join(dir, "backup"), Chunked: o}, log)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			take := func(parent *resource.Backup) *resource.Backup {
				bk := &resource.Backup{ID: uuid.NewString(), VolumeID: "bench-volume"}
				res, err := d.Backup(ctx, bk, parent, dev, nil)
				if err != nil {
					b.Fatal(err)
				}
				bk.Container, bk.ServiceMetadata = res.Container, res.ServiceMetadata
				return bk
			}
			var full, inc *resource.Backup
			b.Run("full", func(b *testing.B) {
				b.SetBytes(benchSize)
				for i := 0; i < b.N; i++ {
					if full != nil {
						b.StopTimer()
						if err := d.Delete(ctx, full); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					full = take(nil)
				}
			})
			writePieces(b, vol, rng, benchSize/benchPiece/100+1) // 1 % more
			b.Run("incremental", func(b *testing.B) {
				b.SetBytes(benchSize)
				for i := 0; i < b.N; i++ {
					if inc != nil {
						b.StopTimer()
						if err := d.Delete(ctx, inc); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					inc = take(full)
				}
			})
			b.Run("restore", func(b *testing.B) {
				b.SetBytes(benchSize)
				target, err := os.Create(filepath.Join(dir, "target"))
				if err != nil {
					b.Fatal(err)
				}
				defer target.Close()
				if err := target.Truncate(benchSize); err != nil {
					b.Fatal(err)
				}
				for i := 0; i < b.N; i++ {
					if err := d.Restore(ctx, []*resource.Backup{full, inc}, "target", &fileDevice{File: target, size: benchSize}, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
	// The physical limit: copying the same 1 GiB volume file to a new file on the same
	// disk, read and write through a 4 MiB buffer, then fsync.
	b.Run("raw-copy", func(b *testing.B) {
		dir := b.TempDir()
		vol, _ := benchVolume(b, dir, 42)
		b.SetBytes(benchSize)
		buf := make([]byte, benchPiece)
		for i := 0; i < b.N; i++ {
			out, err := os.Create(filepath.Join(dir, "copy"))
			if err != nil {
				b.Fatal(err)
			}
			for off := int64(0); off < benchSize; off += benchPiece {
				if _, err := vol.ReadAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if _, err := out.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := out.Sync(); err != nil {
				b.Fatal(err)
			}
			out.Close()
		}
	})
}
