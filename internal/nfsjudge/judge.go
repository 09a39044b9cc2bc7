// Package nfsjudge lets tests ask a real NFS server, over NFSv3, what it holds: whether an
// export mounts, its FSSTAT, a file's attributes and bytes, and what qemu sees in an image
// through its nfs:// driver. It is for tests only (the NFS driver's and the end-to-end ones):
// the server, not the code under test, is the judge.
//
// MOUNT, FSSTAT, LOOKUP, GETATTR and READ go through a small ONC RPC client of its own over TCP
// (no portmapper: the ports are fields, by default nfs-ganesha's MOUNT 20048 and NFS 2049, as
// deploy/nfs/nfs-up.sh configures them); Cat uses libnfs-utils' nfs-cat, a second independent
// client; the Qemu helpers run qemu-img and qemu-io on nfs:// URLs (qemu-block-extra). qemu 7.2
// resolves a relative backing file name against the overlay's URL and fails, so check backing
// chains on the exported directory and single files over nfs://.
package nfsjudge

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default ports of the test server (deploy/nfs/nfs-up.sh) and the default bound on one question.
const (
	DefaultMountPort = 20048
	DefaultNFSPort   = 2049
	DefaultTimeout   = 10 * time.Second
)

// Server is one NFSv3 server; zero fields take the defaults above.
type Server struct {
	Host      string
	MountPort int
	NFSPort   int
	// Timeout bounds each question when ctx has no earlier deadline.
	Timeout time.Duration
}

// FSStats is an NFSv3 FSSTAT reply (RFC 1813 §3.3.18): bytes in the file system, free bytes,
// and bytes available to the caller; likewise for file slots.
type FSStats struct {
	TotalBytes, FreeBytes, AvailBytes uint64
	TotalFiles, FreeFiles, AvailFiles uint64
}

// Attr is what GETATTR/LOOKUP say of a file: its size and the bytes it uses on disk ("used").
type Attr struct {
	Type uint32 // 1 regular file, 2 directory, … (ftype3)
	Mode uint32
	Size int64
	Used int64
}

// Mount reports whether export on host mounts (MOUNT3 MNT succeeds) on the default ports.
func Mount(ctx context.Context, host, export string) error {
	_, err := Server{Host: host}.Mount(ctx, export)
	return err
}

// FSStat asks host's export for its FSSTAT on the default ports.
func FSStat(ctx context.Context, host, export string) (FSStats, error) {
	return Server{Host: host}.FSStat(ctx, export)
}

func (s Server) mountPort() int { return orDefault(s.MountPort, DefaultMountPort) }
func (s Server) nfsPort() int   { return orDefault(s.NFSPort, DefaultNFSPort) }

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func (s Server) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	t := s.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	return context.WithTimeout(ctx, t)
}

var mountStat = map[uint32]string{1: "MNT3ERR_PERM", 2: "MNT3ERR_NOENT", 5: "MNT3ERR_IO", 13: "MNT3ERR_ACCES",
	20: "MNT3ERR_NOTDIR", 22: "MNT3ERR_INVAL", 63: "MNT3ERR_NAMETOOLONG", 10004: "MNT3ERR_NOTSUPP", 10006: "MNT3ERR_SERVERFAULT"}

var nfsStat = map[uint32]string{1: "NFS3ERR_PERM", 2: "NFS3ERR_NOENT", 5: "NFS3ERR_IO", 13: "NFS3ERR_ACCES",
	20: "NFS3ERR_NOTDIR", 21: "NFS3ERR_ISDIR", 22: "NFS3ERR_INVAL", 70: "NFS3ERR_STALE", 10001: "NFS3ERR_BADHANDLE",
	10006: "NFS3ERR_SERVERFAULT", 10008: "NFS3ERR_JUKEBOX"}

func statName(names map[uint32]string, v uint32) string {
	if n, ok := names[v]; ok {
		return n + "(" + strconv.Itoa(int(v)) + ")"
	}
	return "status " + strconv.Itoa(int(v))
}

// Mount asks the server's MOUNT service for export's root file handle (MNT), then releases
// the mount entry again (UMNT).
func (s Server) Mount(ctx context.Context, export string) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	c, err := dial(ctx, s.Host, s.mountPort())
	if err != nil {
		return nil, fmt.Errorf("MOUNT %s:%s: %w", s.Host, export, err)
	}
	defer c.Close()
	var args xdrWriter
	args.opaque([]byte(export))
	r, err := c.call(mountProgram, mountVersion, mountProcMnt, args.Bytes())
	if err != nil {
		return nil, fmt.Errorf("MOUNT %s:%s: %w", s.Host, export, err)
	}
	if st := r.u32(); r.err == nil && st != 0 {
		return nil, fmt.Errorf("MOUNT %s:%s: %s", s.Host, export, statName(mountStat, st))
	}
	fh := r.opaque(64)
	if r.err != nil {
		return nil, fmt.Errorf("MOUNT %s:%s: %w", s.Host, export, r.err)
	}
	_, _ = c.call(mountProgram, mountVersion, mountProcUmn, args.Bytes()) // best effort
	return fh, nil
}

// nfsCall mounts export and calls each of fn's NFS procedures on one connection to the NFS port.
func (s Server) nfsCall(ctx context.Context, export string, fn func(c *conn, root []byte) error) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	root, err := s.Mount(ctx, export)
	if err != nil {
		return err
	}
	c, err := dial(ctx, s.Host, s.nfsPort())
	if err != nil {
		return fmt.Errorf("NFS %s:%s: %w", s.Host, export, err)
	}
	defer c.Close()
	return fn(c, root)
}

// nfsResult calls proc with args and reads its nfsstat3; on an error status it says which.
func nfsResult(c *conn, proc uint32, what string, args []byte) (*xdrReader, error) {
	r, err := c.call(nfsProgram, nfsVersion, proc, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if st := r.u32(); r.err == nil && st != 0 {
		return nil, fmt.Errorf("%s: %s", what, statName(nfsStat, st))
	}
	return r, r.err
}

// FSStat returns the server's FSSTAT of export's root.
func (s Server) FSStat(ctx context.Context, export string) (FSStats, error) {
	var out FSStats
	err := s.nfsCall(ctx, export, func(c *conn, root []byte) error {
		var args xdrWriter
		args.opaque(root)
		r, err := nfsResult(c, nfsProcFSStat, "FSSTAT "+s.Host+":"+export, args.Bytes())
		if err != nil {
			return err
		}
		skipPostOpAttr(r)
		out = FSStats{TotalBytes: r.u64(), FreeBytes: r.u64(), AvailBytes: r.u64(),
			TotalFiles: r.u64(), FreeFiles: r.u64(), AvailFiles: r.u64()}
		if r.err != nil {
			return fmt.Errorf("FSSTAT %s:%s: %w", s.Host, export, r.err)
		}
		return nil
	})
	return out, err
}

func skipPostOpAttr(r *xdrReader) {
	if r.u32() != 0 {
		r.take(fattr3Size)
	}
}

// readAttr reads a post_op_attr that must be present.
func readAttr(r *xdrReader) (Attr, bool) {
	if r.u32() == 0 {
		return Attr{}, false
	}
	var a Attr
	a.Type = r.u32()
	a.Mode = r.u32()
	r.u32() // nlink
	r.u32() // uid
	r.u32() // gid
	a.Size = int64(r.u64())
	a.Used = int64(r.u64())
	r.take(fattr3Size - 5*4 - 2*8)
	return a, r.err == nil
}

// lookup walks path (relative to the export's root) component by component.
func lookup(c *conn, root []byte, path string) ([]byte, Attr, error) {
	fh := root
	var attr Attr
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		return nil, Attr{}, fmt.Errorf("no file named in %q", path)
	}
	for _, name := range parts {
		var args xdrWriter
		args.opaque(fh)
		args.opaque([]byte(name))
		r, err := nfsResult(c, nfsProcLookup, "LOOKUP "+name, args.Bytes())
		if err != nil {
			return nil, Attr{}, err
		}
		fh = r.opaque(64)
		a, ok := readAttr(r)
		if r.err != nil {
			return nil, Attr{}, fmt.Errorf("LOOKUP %s: %w", name, r.err)
		}
		if !ok { // the server may leave the attributes out: ask for them
			var ga xdrWriter
			ga.opaque(fh)
			gr, err := nfsResult(c, nfsProcGetatt, "GETATTR "+name, ga.Bytes())
			if err != nil {
				return nil, Attr{}, err
			}
			gr.b = append([]byte{0, 0, 0, 1}, gr.b...) // fattr3 as a present post_op_attr
			if a, ok = readAttr(gr); !ok {
				return nil, Attr{}, fmt.Errorf("GETATTR %s: %v", name, gr.err)
			}
		}
		attr = a
	}
	return fh, attr, nil
}

// Location is an nfs:// URL split: the server, the export, and the path below the export.
type Location struct {
	Host, Export, Path string
}

// ParseURL splits nfs://host/export/path. The export is the URL's first path component, as
// the test server's exports (/export1, /export2) are; use Location directly for deeper ones.
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("NFS URL %q: %w", raw, err)
	}
	if u.Scheme != "nfs" || u.Host == "" {
		return Location{}, fmt.Errorf("NFS URL %q: want nfs://host/export/path", raw)
	}
	rest := strings.TrimPrefix(u.Path, "/")
	export, path, _ := strings.Cut(rest, "/")
	if export == "" {
		return Location{}, fmt.Errorf("NFS URL %q names no export", raw)
	}
	return Location{Host: u.Hostname(), Export: "/" + export, Path: path}, nil
}

// Stat returns the size and the allocated bytes ("used") the server reports for the file at
// the nfs:// URL.
func Stat(ctx context.Context, rawURL string) (size, allocated int64, err error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return 0, 0, err
	}
	a, err := Server{Host: loc.Host}.Stat(ctx, loc.Export, loc.Path)
	return a.Size, a.Used, err
}

// Stat returns the attributes of path below export.
func (s Server) Stat(ctx context.Context, export, path string) (Attr, error) {
	var out Attr
	err := s.nfsCall(ctx, export, func(c *conn, root []byte) error {
		_, a, err := lookup(c, root, path)
		out = a
		return err
	})
	if err != nil {
		return Attr{}, fmt.Errorf("stat %s:%s/%s: %w", s.Host, export, path, err)
	}
	return out, nil
}

// readChunk is the size of one READ; servers offer at least this much (ganesha 1 MiB).
const readChunk = 64 << 10

// ReadAt reads n bytes at off from the file at the nfs:// URL with NFSv3 READ; fewer bytes
// come back only at the end of the file.
func ReadAt(ctx context.Context, rawURL string, off, n int64) ([]byte, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return Server{Host: loc.Host}.ReadAt(ctx, loc.Export, loc.Path, off, n)
}

// ReadAt reads n bytes at off from path below export.
func (s Server) ReadAt(ctx context.Context, export, path string, off, n int64) ([]byte, error) {
	var out []byte
	err := s.nfsCall(ctx, export, func(c *conn, root []byte) error {
		fh, _, err := lookup(c, root, path)
		if err != nil {
			return err
		}
		for int64(len(out)) < n {
			count := min(n-int64(len(out)), readChunk)
			var args xdrWriter
			args.opaque(fh)
			args.u64(uint64(off + int64(len(out))))
			args.u32(uint32(count))
			r, err := nfsResult(c, nfsProcRead, "READ", args.Bytes())
			if err != nil {
				return err
			}
			skipPostOpAttr(r)
			r.u32() // count
			eof := r.u32() != 0
			data := r.opaque(readChunk)
			if r.err != nil {
				return fmt.Errorf("READ: %w", r.err)
			}
			out = append(out, data...)
			if eof || len(data) == 0 {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s:%s/%s at %d: %w", s.Host, export, path, off, err)
	}
	return out, nil
}
