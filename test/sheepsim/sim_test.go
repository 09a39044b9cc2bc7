package sheepsim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const gib = 1 << 30

func startSim(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	srv, err := Start(opts)
	if err != nil {
		t.Fatalf("start the sheep simulator: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv, dial(t, srv.Addr())
}

// logSink collects the simulator's log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// The VIDs a real sheep gave these names (sheepdog.md §4: `= volume-abc … 378152`,
// `c volume-def … a0b3ed`): the FNV-1a hash of the name, then the next free bit.
func TestVIDAllocation(t *testing.T) {
	_, c := startSim(t, Options{})
	tests := []struct {
		name string
		want uint32
	}{
		{"volume-abc", 0x378152},
		{"volume-def", 0xa0b3ed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.create(tt.name, gib); got != tt.want {
				t.Fatalf("VID %x, want %x", got, tt.want)
			}
			if p := c.lookup(tt.name, "", 0); p.result != 0 || p.vid != tt.want {
				t.Fatalf("lookup: result %#x vid %x, want 0 and %x", p.result, p.vid, tt.want)
			}
		})
	}
	// A snapshot's new working VDI takes the next free bit after the name's range.
	nv, sv := c.snapshot("volume-abc", "s1")
	if sv != 0x378152 || nv != 0x378153 {
		t.Fatalf("snapshot: working %x snapshot %x, want 378153 and 378152", nv, sv)
	}
}

func TestCreateLookupErrors(t *testing.T) {
	_, c := startSim(t, Options{})
	c.create("vol", gib)
	long := strings.Repeat("n", 300)
	tests := []struct {
		name string
		req  wreq
		want uint32
	}{
		{"existing name any size", wreq{op: 0x11, size: 5, data: name256("vol")}, ResVDIExist},
		{"name payload not 256 bytes", wreq{op: 0x11, size: gib, data: []byte("short")}, ResInvalidParms},
		{"lookup missing", wreq{op: 0x14, data: nameTag512("nosuch", "")}, ResNoVDI},
		{"lookup missing tag", wreq{op: 0x14, data: nameTag512("vol", "nosnap")}, ResNoTag},
		{"lookup snapid that is not there", wreq{op: 0x14, snapid: 3, data: nameTag512("vol", "")}, ResNoTag},
		{"lookup payload of odd length", wreq{op: 0x14, data: make([]byte, 300)}, ResInvalidParms},
		{"delete missing", wreq{op: 0x17, data: nameTag512("nosuch", "")}, ResNoVDI},
		{"size 0 is fine", wreq{op: 0x11, size: 0, data: name256("zero")}, ResSuccess},
		{"clone of a missing base", wreq{op: 0x11, size: gib, base: 0x123, data: name256("c")}, ResBaseVDIRead},
		{"snapshot of a missing VDI", wreq{op: 0x11, size: gib, snapid: 1, data: name256("nosuch")}, ResNoVDI},
		{"READ_VDIS with a short buffer", wreq{op: 0x15, length: 4096}, ResInvalidParms},
		{"unknown opcode", wreq{op: 0x60}, ResInvalidParms},
		// 256 bytes without NUL: kept as 255 (pstrcpy), and looked up as 255.
		{"256-byte name", wreq{op: 0x11, size: gib, data: []byte(long[:256])}, ResSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.must(tt.req, tt.want)
		})
	}
	if p := c.lookup(long[:255], "", 0); p.result != 0 {
		t.Fatalf("the 256-byte name was not kept as its first 255 bytes: lookup %#x", p.result)
	}
}

func TestProtoVersion(t *testing.T) {
	_, c := startSim(t, Options{})
	tests := []struct {
		name  string
		proto uint8
		op    uint8
		want  uint32
	}{
		{"public 0x00", 0xff, 0x15, ResSuccess},
		{"public 0x01 (tgt)", 0x01, 0x15, ResSuccess},
		{"public 0x02", 0x02, 0x15, ResSuccess},
		{"public 0x03", 0x03, 0x15, ResVerMismatch},
		{"public 0x0a", 0x0a, 0x15, ResVerMismatch},
		{"internal 0x0a", 0x0a, 0x86, ResSuccess},
		{"internal 0x02", 0x02, 0x86, ResVerMismatch},
		{"internal 0x00", 0xff, 0x86, ResVerMismatch},
		{"internal READ_DEL_VDIS 0x01", 0x01, 0xC9, ResVerMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wreq{proto: tt.proto, op: tt.op}
			if tt.op == 0x15 || tt.op == 0xC9 {
				r.length = BitmapSize
			}
			c.must(r, tt.want)
		})
	}
}

func TestWaitingForFormat(t *testing.T) {
	srv, c := startSim(t, Options{Unformatted: true})
	tests := []struct {
		name string
		req  wreq
		want uint32
	}{
		{"NEW_VDI", wreq{op: 0x11, size: gib, data: name256("x")}, ResWaitForFormat},
		{"GET_VDI_INFO", wreq{op: 0x14, data: nameTag512("x", "")}, ResWaitForFormat},
		{"DEL_VDI", wreq{op: 0x17, data: nameTag512("x", "")}, ResWaitForFormat},
		{"READ_OBJ", wreq{op: 0x02, oid: VDIOid(1), length: 4664}, ResWaitForFormat},
		{"STAT_SHEEP", wreq{op: 0x86}, ResWaitForFormat},
		{"STAT_CLUSTER answers the status", wreq{op: 0x87, length: 48}, ResWaitForFormat},
		{"READ_VDIS works (vdi list is empty)", wreq{op: 0x15, length: BitmapSize}, ResSuccess},
		{"CLUSTER_INFO works", wreq{op: 0xBE, length: 4096}, ResSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { c.must(tt.req, tt.want) })
	}
	if st := c.must(wreq{op: 0xBE, length: 4096}, 0).data[20]; st != 2 {
		t.Fatalf("cluster_info status %d, want 2 (SD_STATUS_WAIT)", st)
	}
	// MAKE_FS (internal, 0x0a) formats.
	c.must(wreq{op: 0x84, raw32: 1, data: []byte("plain\x00")}, 0)
	if !srv.Formatted() {
		t.Fatal("MAKE_FS did not format the simulator")
	}
	c.must(wreq{op: 0x87, length: 48}, 0)
	if st := c.must(wreq{op: 0xBE, length: 4096}, 0).data[20]; st != 1 {
		t.Fatalf("cluster_info status %d after MAKE_FS, want 1 (SD_STATUS_OK)", st)
	}
	if vid := c.create("x", gib); vid != HashVDI("x") {
		t.Fatalf("create after format: VID %x, want %x", vid, HashVDI("x"))
	}
}

func TestSnapshotMovesWorkingVID(t *testing.T) {
	srv, c := startSim(t, Options{})
	vid := c.create("vol-a", 8<<20)
	c.write(vid, 100, []byte("before"))
	nv, sv := c.snapshot("vol-a", "s1")
	if sv != vid || nv == vid {
		t.Fatalf("snapshot answered working %x snapshot %x; the old VID %x must become the snapshot", nv, sv, vid)
	}
	// The name now finds the new VID; the tag finds the old one; so does the snapid.
	if p := c.lookup("vol-a", "", 0); p.vid != nv {
		t.Fatalf("lookup vol-a = %x, want the new working VID %x", p.vid, nv)
	}
	if p := c.lookup("vol-a", "s1", 0); p.result != 0 || p.vid != vid {
		t.Fatalf("lookup vol-a@s1 = %#x/%x, want 0/%x", p.result, p.vid, vid)
	}
	if p := c.lookup("vol-a", "", 1); p.result != 0 || p.vid != vid {
		t.Fatalf("lookup vol-a snapid 1 = %#x/%x, want 0/%x", p.result, p.vid, vid)
	}
	hs, hw := c.inodeHeader(vid), c.inodeHeader(nv)
	if cString(hs[256:512]) != "s1" || binary.LittleEndian.Uint64(hs[520:]) == 0 || binary.LittleEndian.Uint32(hs[556:]) != 1 {
		t.Fatalf("snapshot inode: tag %q snap_ctime %d snap_id %d, want s1, set, 1", cString(hs[256:512]), binary.LittleEndian.Uint64(hs[520:]), binary.LittleEndian.Uint32(hs[556:]))
	}
	if binary.LittleEndian.Uint32(hw[556:]) != 2 || binary.LittleEndian.Uint32(hw[564:]) != vid || binary.LittleEndian.Uint32(hw[560:]) != nv {
		t.Fatalf("working inode: snap_id %d parent %x vdi_id %x, want 2, %x, %x", binary.LittleEndian.Uint32(hw[556:]), binary.LittleEndian.Uint32(hw[564:]), binary.LittleEndian.Uint32(hw[560:]), vid, nv)
	}
	// The working VDI inherits the snapshot's object.
	if got := c.dataVDIID(nv, 0); got != vid {
		t.Fatalf("working data_vdi_id[0] = %x, want the snapshot's %x", got, vid)
	}
	// Writing the snapshot's object in place is refused: it is read-only.
	c.must(wreq{op: 0x03, oid: DataOid(vid, 0), offset: 100, data: []byte("X")}, ResReadOnly)
	c.must(wreq{op: 0x01, oid: DataOid(vid, 1), data: []byte("X")}, ResReadOnly)
	// ... but its inode (attributes) can be written.
	c.must(wreq{op: 0x03, oid: VDIOid(vid), offset: 256, data: name256("s1")}, 0)
	// A COW write goes to the working VDI's own object; the snapshot keeps the old bytes.
	c.write(nv, 102, []byte("AFTER"))
	if got := c.read(nv, 100, 7); string(got) != "beAFTER" {
		t.Fatalf("working VDI reads %q, want %q", got, "beAFTER")
	}
	if got := c.read(vid, 100, 6); string(got) != "before" {
		t.Fatalf("snapshot reads %q, want %q", got, "before")
	}
	if n := len(srv.Objects(nv)); n != 1 {
		t.Fatalf("working VDI owns %d objects, want 1 (the COW copy)", n)
	}
	// A second snapshot with the same tag is not refused by sheep (dog checks it); the
	// numbering goes on per name.
	nv2, _ := c.snapshot("vol-a", "s2")
	if id := binary.LittleEndian.Uint32(c.inodeHeader(nv2)[556:]); id != 3 {
		t.Fatalf("third VDI of the name has snap_id %d, want 3", id)
	}
}

func TestCloneSharesObjectsCopyOnWrite(t *testing.T) {
	srv, c := startSim(t, Options{})
	vid := c.create("base", 16<<20)
	pattern := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	c.write(vid, 4<<20-512, pattern)                           // across the object 0/1 boundary
	_, sv := c.snapshot("base", "snap")
	cl := c.clone(sv, "clone", 32<<20)
	h := c.inodeHeader(cl)
	if p := binary.LittleEndian.Uint32(h[564:]); p != sv {
		t.Fatalf("clone parent %x, want %x", p, sv)
	}
	for idx := uint32(0); idx < 2; idx++ {
		if got := c.dataVDIID(cl, idx); got != sv {
			t.Fatalf("clone data_vdi_id[%d] = %x, want the snapshot's %x", idx, got, sv)
		}
	}
	if len(srv.Objects(cl)) != 0 {
		t.Fatal("a fresh clone must own no objects")
	}
	if got := c.read(cl, 4<<20-512, len(pattern)); !bytes.Equal(got, pattern) {
		t.Fatal("clone does not read the inherited bytes")
	}
	// Overwrite 3 bytes in object 1 of the clone: COW copies the rest of the object.
	c.write(cl, 4<<20+10, []byte("xyz"))
	want := append([]byte(nil), pattern...)
	copy(want[512+10:], "xyz")
	if got := c.read(cl, 4<<20-512, len(pattern)); !bytes.Equal(got, want) {
		t.Fatal("clone after a COW write differs from the expected bytes")
	}
	if got := c.read(sv, 4<<20-512, len(pattern)); !bytes.Equal(got, pattern) {
		t.Fatal("the snapshot changed after a write to its clone")
	}
	objs := srv.Objects(cl)
	if len(objs) != 1 || objs[0].Idx != 1 {
		t.Fatalf("clone owns %v, want exactly object 1", objs)
	}
	// A COW create whose source object does not exist fails.
	c.must(wreq{op: 0x01, flags: 0x02, oid: DataOid(cl, 3), cowOid: DataOid(sv, 3), data: []byte("x")}, ResNoObj)
	// WRITE_OBJ on an object that was never created fails.
	c.must(wreq{op: 0x03, oid: DataOid(cl, 5), data: []byte("x")}, ResNoObj)
	c.must(wreq{op: 0x02, oid: DataOid(cl, 5), length: 1}, ResNoObj)
	// Clone to an existing name.
	c.must(wreq{op: 0x11, size: gib, base: sv, data: name256("clone")}, ResVDIExist)
}

func TestDeleteSemantics(t *testing.T) {
	logs := &logSink{}
	srv, c := startSim(t, Options{Logf: logs.logf})

	t.Run("zeroed refs free the objects", func(t *testing.T) {
		vid := c.create("v1", 16<<20)
		c.write(vid, 0, []byte("a"))
		c.write(vid, 8<<20, []byte("b"))
		if n := len(srv.Objects(vid)); n != 2 {
			t.Fatalf("%d objects before delete, want 2", n)
		}
		c.expect(c.deleteVDI("v1", "", true), 0)
		if n := len(srv.Objects(vid)); n != 0 {
			t.Fatalf("%d objects left after zeroing and DEL_VDI, want 0", n)
		}
		if p := c.lookup("v1", "", 0); p.result != ResNoVDI {
			t.Fatalf("lookup after delete: %#x, want NO_VDI", p.result)
		}
		c.must(wreq{op: 0x17, data: nameTag512("v1", "")}, ResNoVDI)
		// The tombstone keeps its VID: a new VDI of the same name gets the next one.
		if nv := c.create("v1", gib); nv == vid {
			t.Fatalf("re-created v1 reused the deleted VID %x", vid)
		}
	})

	t.Run("without zeroing only a log line", func(t *testing.T) {
		vid := c.create("v2", 8<<20)
		c.write(vid, 0, []byte("a"))
		c.expect(c.deleteVDI("v2", "", false), 0)
		if !logs.has(fmt.Sprintf("vid: %x still has objects", vid)) {
			t.Fatalf("no \"still has objects\" log line; logs: %v", logs.lines)
		}
		if n := len(srv.Objects(vid)); n != 1 {
			t.Fatalf("%d objects after DEL_VDI without zeroing, want the 1 that stays", n)
		}
		var found bool
		for _, v := range srv.VDIs() {
			if v.VID == vid {
				found = v.Deleted && v.Name == "v2"
			}
		}
		if !found {
			t.Fatal("the VDI must be marked deleted and keep its inode")
		}
	})

	t.Run("snapshot with a clone", func(t *testing.T) {
		vid := c.create("v3", 8<<20)
		c.write(vid, 0, []byte("inherited"))
		_, sv := c.snapshot("v3", "s")
		cl := c.clone(sv, "v3c", 8<<20)
		c.expect(c.deleteVDI("v3", "s", true), 0)
		if p := c.lookup("v3", "s", 0); p.result != ResNoTag {
			t.Fatalf("deleted snapshot lookup: %#x, want NO_TAG", p.result)
		}
		if got := c.read(cl, 0, 9); string(got) != "inherited" {
			t.Fatalf("clone reads %q after its snapshot was deleted, want %q", got, "inherited")
		}
	})

	t.Run("working deleted, snapshot stays; same name starts a new VDI", func(t *testing.T) {
		vid := c.create("v4", 8<<20)
		nv, _ := c.snapshot("v4", "s")
		c.expect(c.deleteVDI("v4", "", true), 0)
		if p := c.lookup("v4", "s", 0); p.result != 0 || p.vid != vid {
			t.Fatalf("snapshot lookup after deleting the working VDI: %#x/%x", p.result, p.vid)
		}
		n3 := c.create("v4", gib)
		if n3 == nv || n3 == vid {
			t.Fatalf("new v4 took an old VID %x", n3)
		}
		// vdi_lookup: the newest inode of the name is the snapshot (snap_id 1), so the new
		// working VDI continues the numbering of the name group.
		if id := binary.LittleEndian.Uint32(c.inodeHeader(n3)[556:]); id != 2 {
			t.Fatalf("new v4 snap_id %d, want 2", id)
		}
	})

	t.Run("DEL_VDI bitmap", func(t *testing.T) {
		del := c.must(wreq{op: 0xC9, length: BitmapSize}, 0).data
		inuse := c.must(wreq{op: 0x15, length: BitmapSize}, 0).data
		vid := HashVDI("v1")
		if !bitSet(del, vid) || !bitSet(inuse, vid) {
			t.Fatal("a deleted VID must stay in use and be in the deleted bitmap")
		}
	})
}

func TestDiscard(t *testing.T) {
	srv, c := startSim(t, Options{})
	vid := c.create("d", 8<<20)
	c.write(vid, 0, []byte("x"))
	c.must(wreq{op: 0x05, oid: DataOid(vid, 0)}, 0)
	if len(srv.Objects(vid)) != 0 || c.dataVDIID(vid, 0) != 0 {
		t.Fatal("DISCARD_OBJ must drop the object and its data_vdi_id entry")
	}
	if got := c.read(vid, 0, 1); got[0] != 0 {
		t.Fatal("a discarded area must read as zeros")
	}
}

func TestStatAndFaults(t *testing.T) {
	srv, c := startSim(t, Options{StoreSize: 100 << 20})
	vid := c.create("s", 8<<20)
	c.write(vid, 0, []byte("x"))
	p := c.must(wreq{op: 0x86}, 0)
	size, free := binary.LittleEndian.Uint64(p.hdr[32:]), binary.LittleEndian.Uint64(p.hdr[40:])
	if size != 100<<20 || free != 96<<20 {
		t.Fatalf("STAT_SHEEP size %d free %d, want %d and %d", size, free, 100<<20, 96<<20)
	}
	srv.FailNext(OpNewVDI, ResNoSpace, 2)
	c.must(wreq{op: 0x11, size: gib, data: name256("f1")}, ResNoSpace)
	c.must(wreq{op: 0x11, size: gib, data: name256("f1")}, ResNoSpace)
	c.must(wreq{op: 0x11, size: gib, data: name256("f1")}, 0)
	if n := srv.Requests(OpNewVDI); n != 4 {
		t.Fatalf("Requests(NEW_VDI) = %d, want 4", n)
	}
}

func TestRestartKeepsData(t *testing.T) {
	srv, c := startSim(t, Options{})
	vid := c.create("r", 8<<20)
	c.write(vid, 4096, []byte("kept"))
	addr := srv.Addr()
	srv.Stop()
	if _, err := c.c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Stop")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", srv.Addr(), addr)
	}
	c2 := dial(t, addr)
	if got := c2.read(vid, 4096, 4); string(got) != "kept" {
		t.Fatalf("after restart reads %q, want kept", got)
	}
	srv.Format()
	c2.must(wreq{op: 0x14, data: nameTag512("r", "")}, ResNoVDI)
}

// The inode object is 12,587,576 bytes: a read of the whole flat inode as tgt does
// (header + data_vdi_id) returns the entries at their offsets.
func TestInodeLayout(t *testing.T) {
	_, c := startSim(t, Options{})
	vid := c.create("lay", 4<<40)
	c.write(vid, (1<<20-1)*(4<<20), []byte("last object"))
	full := c.must(wreq{op: 0x02, oid: VDIOid(vid), length: 4664 + 4<<20}, 0).data
	if len(full) != 4664+4<<20 {
		t.Fatalf("read %d bytes", len(full))
	}
	if got := binary.LittleEndian.Uint32(full[4664+4*(1<<20-1):]); got != vid {
		t.Fatalf("data_vdi_id[2^20-1] = %x, want %x", got, vid)
	}
	if got := binary.LittleEndian.Uint64(full[536:]); got != 4<<40 {
		t.Fatalf("vdi_size %d", got)
	}
	c.must(wreq{op: 0x02, oid: VDIOid(vid), offset: InodeSize - 8, length: 8}, 0)
	c.must(wreq{op: 0x02, oid: VDIOid(vid), offset: InodeSize - 8, length: 9}, ResInvalidParms)
	// Resize is a WRITE_OBJ of vdi_size at 536.
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, 2<<40)
	c.must(wreq{op: 0x03, oid: VDIOid(vid), offset: 536, data: b}, 0)
	if got := binary.LittleEndian.Uint64(c.inodeHeader(vid)[536:]); got != 2<<40 {
		t.Fatalf("vdi_size after resize %d", got)
	}
}

// Many clients at once (tgtd opens one connection per I/O thread): every create gets its own
// VID and every write lands.
func TestConcurrentClients(t *testing.T) {
	srv, _ := startSim(t, Options{})
	const n = 16
	vids := make([]uint32, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial(t, srv.Addr())
			vids[i] = c.create(fmt.Sprintf("conc-%d", i), 8<<20)
			c.write(vids[i], uint64(i)*512, []byte(fmt.Sprintf("client %2d", i)))
		}(i)
	}
	wg.Wait()
	seen := map[uint32]bool{}
	for i, vid := range vids {
		if seen[vid] {
			t.Fatalf("VID %x given twice", vid)
		}
		seen[vid] = true
		got, err := srv.ReadVDI(vid, uint64(i)*512, 9)
		if err != nil || string(got) != fmt.Sprintf("client %2d", i) {
			t.Fatalf("VDI %d reads %q (%v)", i, got, err)
		}
	}
}

// Two names whose hash is the same slot: the second takes the next free bit, and both are
// found (lookup scans from the hash to the first free bit).
func TestHashCollisionProbing(t *testing.T) {
	_, c := startSim(t, Options{})
	// A birthday search: among ~2^12 names two share a 24-bit slot.
	byHash := map[uint32]string{}
	var a, b string
	for i := 0; i < 1<<20 && b == ""; i++ {
		n := fmt.Sprintf("vol-%d", i)
		h := HashVDI(n)
		if prev, ok := byHash[h]; ok {
			a, b = prev, n
		}
		byHash[h] = n
	}
	if b == "" {
		t.Fatal("no two names vol-0…vol-1048575 share a hash slot")
	}
	want := HashVDI(a)
	va, vb := c.create(a, gib), c.create(b, gib)
	if va != want || vb != want+1 {
		t.Fatalf("VIDs %x and %x, want %x and %x", va, vb, want, want+1)
	}
	for _, tt := range []struct {
		name string
		vid  uint32
	}{{a, va}, {b, vb}} {
		if p := c.lookup(tt.name, "", 0); p.result != 0 || p.vid != tt.vid {
			t.Fatalf("lookup %s: %#x/%x, want 0/%x", tt.name, p.result, p.vid, tt.vid)
		}
	}
}
