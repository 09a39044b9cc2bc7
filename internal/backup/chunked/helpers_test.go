package chunked_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/backup/posix"
)

const (
	testBlock = 4096
	testChunk = 4 * testBlock
)

// countingStore is the real posix store, counting what is put through it.
type countingStore struct {
	chunked.Store
	mu    sync.Mutex
	puts  map[string]int64 // name → bytes of its last put
	order []string
}

func (c *countingStore) Put(ctx context.Context, container, name string, r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if err := c.Store.Put(ctx, container, name, bytes.NewReader(buf.Bytes())); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts[name] = int64(buf.Len())
	c.order = append(c.order, name)
	return nil
}

// dataPuts answers the number and bytes of data objects put (not the JSON objects).
func (c *countingStore) dataPuts() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, b := range c.puts {
		if strings.HasSuffix(name, "_metadata") || strings.HasSuffix(name, "_sha256file") {
			continue
		}
		n++
		bytes += b
	}
	return n, bytes
}

func (c *countingStore) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts = map[string]int64{}
	c.order = nil
}

type fixture struct {
	engine *chunked.Engine
	store  *countingStore
	posix  *posix.Store
	root   string
}

func newFixture(t *testing.T, opts chunked.Options) *fixture {
	t.Helper()
	root := filepath.Join(t.TempDir(), "backup")
	ps, err := posix.New(posix.Options{Path: root, CreateContainers: true})
	if err != nil {
		t.Fatalf("posix.New: %v", err)
	}
	cs := &countingStore{Store: ps, puts: map[string]int64{}}
	log := logrus.New()
	log.SetOutput(io.Discard)
	e, err := chunked.New(cs, opts, log)
	if err != nil {
		t.Fatalf("chunked.New: %v", err)
	}
	return &fixture{engine: e, store: cs, posix: ps, root: root}
}

func smallOptions(algorithm string) chunked.Options {
	return chunked.Options{FileSize: testChunk, SHABlockSize: testBlock, CompressionAlgorithm: algorithm}
}

// describe answers a description of backup n of volume "vol-1" in container "c/1".
func describe(n string, parent *chunked.Ref) chunked.Description {
	name := "backup " + n
	return chunked.Description{
		BackupID:  "backup-" + n,
		VolumeID:  "vol-1",
		Name:      &name,
		CreatedAt: time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC),
		Ref:       chunked.Ref{Container: "c/1", Prefix: "volume_vol-1_20261207220000_backup_backup-" + n},
		Parent:    parent,
	}
}

// randomBytes answers n pseudo-random (incompressible) bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textBytes answers n compressible bytes.
func textBytes(n int) []byte {
	return bytes.Repeat([]byte("all work and no play makes a backup dull. "), n/42+1)[:n]
}

// volumeFile answers a file of size bytes (sparse zeros, or fill) to restore into.
func volumeFile(t *testing.T, size int64, fill []byte) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "volume"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if fill != nil {
		if _, err := f.WriteAt(fill, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return f
}

func restoreBytes(t *testing.T, e *chunked.Engine, chain []chunked.Ref, size int64) []byte {
	t.Helper()
	f := volumeFile(t, size, nil)
	if _, err := e.Restore(context.Background(), chain, f, chunked.RestoreOptions{VolumeIsNew: true}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustBackup(t *testing.T, e *chunked.Engine, vol []byte, d chunked.Description) *chunked.Result {
	t.Helper()
	res, err := e.Backup(context.Background(), bytes.NewReader(vol), int64(len(vol)), d)
	if err != nil {
		t.Fatalf("Backup %s: %v", d.BackupID, err)
	}
	return res
}

func md5hex(b []byte) string {
	sum := md5.Sum(b) //nolint:gosec // the format's checksum
	return hex.EncodeToString(sum[:])
}

func allocated(fi os.FileInfo) int64 {
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}
