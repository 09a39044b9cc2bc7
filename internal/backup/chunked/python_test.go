package chunked_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python (what Cinder decompresses with) reads the zlib and bz2 objects Scoria writes:
// each object, decompressed by Python's zlib/bz2, has the md5 the metadata records.
func TestPythonReadsOurObjects(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed to check Cinder's reading of the objects")
		}
		t.Skip("python3 not installed")
	}
	const script = `import sys, zlib, bz2, hashlib
mod = {"zlib": zlib, "gzip": zlib, "bz2": bz2, "bzip2": bz2}[sys.argv[1]]
print(hashlib.md5(mod.decompress(open(sys.argv[2], "rb").read())).hexdigest())`
	for _, algorithm := range []string{"zlib", "gzip", "bz2", "bzip2"} {
		t.Run(algorithm, func(t *testing.T) {
			f := newFixture(t, smallOptions(algorithm))
			d := describe("py", nil)
			res := mustBackup(t, f.engine, textBytes(2*testChunk+4096), d)
			md, err := f.engine.ReadMetadata(context.Background(), d.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(md.Objects) != res.ObjectCount || len(md.Objects) != 3 {
				t.Fatalf("%d objects", len(md.Objects))
			}
			for _, o := range md.Objects {
				if o.Compression != algorithm {
					t.Fatalf("object %s compressed %q, want %q", o.Name, o.Compression, algorithm)
				}
				out, err := exec.Command(python, "-c", script, o.Compression, filepath.Join(f.root, d.Container, o.Name)).CombinedOutput()
				if err != nil {
					t.Fatalf("python3: %v: %s", err, out)
				}
				if got := strings.TrimSpace(string(out)); got != o.MD5 {
					t.Errorf("python decompressed %s to md5 %s, metadata says %s", o.Name, got, o.MD5)
				}
			}
		})
	}
}

// The zstd CLI (the reference decoder; python-zstd is not installed here) reads the
// zstd objects Scoria writes.
func TestZstdCLIReadsOurObjects(t *testing.T) {
	zstdCLI, err := exec.LookPath("zstd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the zstd CLI is needed to check the zstd objects")
		}
		t.Skip("zstd not installed")
	}
	f := newFixture(t, smallOptions("zstd"))
	d := describe("zst", nil)
	vol := textBytes(testChunk + 100)
	res := mustBackup(t, f.engine, vol, d)
	for _, o := range res.Metadata.Objects {
		out, err := exec.Command(zstdCLI, "-q", "-d", "-c", filepath.Join(f.root, d.Container, o.Name)).Output()
		if err != nil {
			t.Fatalf("zstd -d %s: %v", o.Name, err)
		}
		if got := md5hex(out); o.Compression != "zstd" || got != o.MD5 {
			t.Errorf("%s (%s) decompressed to md5 %s, metadata says %s", o.Name, o.Compression, got, o.MD5)
		}
	}
}
