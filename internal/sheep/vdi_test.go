package sheep

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

var ctx = context.Background()

// working is a working VDI as a real sheep's inode shows one (copies=1,
// 4 MiB objects, snap_id 1, never snapshotted).
var working = inodeSpec{name: "volume-abc", ctime: 1795280827 << 32, size: 1 << 30, copies: 1, shift: 22, snapID: 1, vid: 0x378152}

func TestCreate(t *testing.T) {
	f := newFake(t, func(t *testing.T, r rawReq) resp {
		hdr(0x02, 0x11, 0x01, 256).u64(16, 1<<30).check(t, r)
		checkPayload(t, r, name256("volume-abc"))
		return resp{vid: 0x2a75d9}
	})
	vid, err := testClient(t, f, Options{}).Create(ctx, "volume-abc", 1<<30)
	if err != nil || vid != 0x2a75d9 {
		t.Fatalf("Create = %#x, %v; want 0x2a75d9", vid, err)
	}
}

// TestResultCodes: every recorded result code maps to its sentinel and a
// *ResultError with the code; unknown codes are errors, never successes.
func TestResultCodes(t *testing.T) {
	tests := []struct {
		code uint32
		want error // nil: no sentinel
	}{
		{0x03, ErrIO},
		{0x04, ErrVDIExists},
		{0x05, ErrInvalidParms},
		{0x08, ErrNoVDI},
		{0x0E, ErrNoTag},
		{0x14, ErrVerMismatch},
		{0x15, ErrNoSpace},
		{0x16, ErrWaitForFormat},
		{0x17, ErrWaitForJoin},
		{0x1A, ErrReadOnly},
		{0x01, nil},   // SD_RES_UNKNOWN
		{0x02, nil},   // SD_RES_NO_OBJ
		{0x1D, nil},   // SD_RES_INODE_INVALIDATED: not in this client's table
		{0x81, nil},   // internal range
		{0xdead, nil}, // garbage
	}
	for _, tt := range tests {
		t.Run(ResultText(tt.code), func(t *testing.T) {
			f := newFake(t, func(t *testing.T, r rawReq) resp { return resp{result: tt.code, vid: 0x10} })
			c := testClient(t, f, Options{})
			vid, err := c.Create(ctx, "v", 1)
			if err == nil || vid != 0 {
				t.Fatalf("Create = %#x, %v; want an error", vid, err)
			}
			var re *ResultError
			if !errors.As(err, &re) || re.Code != tt.code {
				t.Fatalf("err = %v, want *ResultError with code %#x", err, tt.code)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, does not match %v", err, tt.want)
			}
			if tt.want == nil && re.Unwrap() != nil {
				t.Errorf("code %#x unwraps to %v, want nothing", tt.code, re.Unwrap())
			}
			if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrProtocol) {
				t.Errorf("a result code is neither unreachable nor a protocol error: %v", err)
			}
			if !strings.Contains(err.Error(), "NEW_VDI v") {
				t.Errorf("error %q does not say the operation", err)
			}
			// A result code leaves the connection healthy: it is reused.
			if c.idleCount() != 1 {
				t.Errorf("idle connections = %d, want 1", c.idleCount())
			}
		})
	}
}

// TestClientSideRefusals: what dog refuses before sending anything, and
// what real sheep would silently change, never reaches the fake (its
// script is empty, so any request fails the test).
func TestClientSideRefusals(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		do   func(c *Client) error
	}{
		{"create 256-byte name", func(c *Client) error { _, err := c.Create(ctx, long, 1); return err }},
		{"create empty name", func(c *Client) error { _, err := c.Create(ctx, "", 1); return err }},
		{"create name with NUL", func(c *Client) error { _, err := c.Create(ctx, "a\x00b", 1); return err }},
		{"create above 4 TiB", func(c *Client) error { _, err := c.Create(ctx, "big", MaxVDISize+1); return err }},
		{"snapshot numeric tag", func(c *Client) error { _, err := c.Snapshot(ctx, "v", "123"); return err }},
		{"snapshot 256-byte tag", func(c *Client) error { _, err := c.Snapshot(ctx, "v", long); return err }},
		{"clone without tag", func(c *Client) error { _, err := c.Clone(ctx, "v", "", "w"); return err }},
		{"clone to a 256-byte name", func(c *Client) error { _, err := c.Clone(ctx, "v", "s", long); return err }},
		{"lookup 256-byte name", func(c *Client) error { _, err := c.Lookup(ctx, long, ""); return err }},
		{"lookup snapshot id 0", func(c *Client) error { _, err := c.Lookup(ctx, "v", "0"); return err }},
		{"lookup snapshot id above 32 bits", func(c *Client) error { _, err := c.Lookup(ctx, "v", "4294967296"); return err }},
		{"delete 256-byte tag", func(c *Client) error { return c.Delete(ctx, "v", long) }},
		{"write 256-byte name", func(c *Client) error { return c.WriteAt(ctx, long, []byte{1}, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			err := tt.do(testClient(t, f, Options{}))
			if !errors.Is(err, ErrInvalidParms) {
				t.Fatalf("err = %v, want ErrInvalidParms", err)
			}
			if f.connCount() != 0 {
				t.Errorf("the client connected to sheep")
			}
		})
	}
}

func TestCreate255ByteName(t *testing.T) {
	name := string(make255('n'))
	f := newFake(t, func(t *testing.T, r rawReq) resp {
		hdr(0x02, 0x11, 0x01, 256).check(t, r)
		checkPayload(t, r, name256(name))
		if r.payload[255] != 0 {
			t.Errorf("name is not NUL-terminated")
		}
		return resp{vid: 1}
	})
	if _, err := testClient(t, f, Options{}).Create(ctx, name, 0); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func TestLookup(t *testing.T) {
	snap := inodeSpec{name: "volume-abc", tag: "snap1", ctime: 1795280827 << 32, snapCtime: 1795280900 << 32,
		size: 1 << 30, copies: 1, shift: 22, snapID: 1, vid: 0x378151}
	tests := []struct {
		name, tag string
		script    []step
		want      VDI
		wantErr   error
	}{
		{
			name: "working VDI", tag: "",
			script: []step{expectGetVDIInfo("volume-abc", "", 0, resp{vid: working.vid}), expectReadInode(working)},
			want:   VDI{Name: "volume-abc", ID: 0x378152, SnapID: 1, Size: 1 << 30, Copies: 1, BlockSizeShift: 22},
		},
		{
			name: "snapshot by tag", tag: "snap1",
			script: []step{expectGetVDIInfo("volume-abc", "snap1", 0, resp{vid: snap.vid}), expectReadInode(snap)},
			want: VDI{Name: "volume-abc", Tag: "snap1", ID: 0x378151, SnapID: 1, Size: 1 << 30, Copies: 1,
				BlockSizeShift: 22, Snapshot: true},
		},
		{
			name: "numeric tag is a snapshot id", tag: "1",
			script: []step{expectGetVDIInfo("volume-abc", "", 1, resp{vid: snap.vid}), expectReadInode(snap)},
			want: VDI{Name: "volume-abc", Tag: "snap1", ID: 0x378151, SnapID: 1, Size: 1 << 30, Copies: 1,
				BlockSizeShift: 22, Snapshot: true},
		},
		{
			name: "missing VDI", tag: "",
			script:  []step{expectGetVDIInfo("volume-abc", "", 0, resp{result: ResNoVDI})},
			wantErr: ErrNoVDI,
		},
		{
			name: "missing tag", tag: "nosnap",
			script:  []step{expectGetVDIInfo("volume-abc", "nosnap", 0, resp{result: ResNoTag})},
			wantErr: ErrNoTag,
		},
		{
			name: "waiting for format", tag: "",
			script:  []step{expectGetVDIInfo("volume-abc", "", 0, resp{result: ResWaitForFmt})},
			wantErr: ErrWaitForFormat,
		},
		{
			name: "success without a VID is garbled", tag: "",
			script:  []step{expectGetVDIInfo("volume-abc", "", 0, resp{})},
			wantErr: ErrProtocol,
		},
		{
			name: "inode of another VID is garbled", tag: "",
			script: []step{expectGetVDIInfo("volume-abc", "", 0, resp{vid: working.vid}), func(t *testing.T, r rawReq) resp {
				other := working
				other.vid = 0x99
				return resp{data: inodeBytes(other)}
			}},
			wantErr: ErrProtocol,
		},
		{
			name: "short inode is garbled", tag: "",
			script: []step{expectGetVDIInfo("volume-abc", "", 0, resp{vid: working.vid}), func(t *testing.T, r rawReq) resp {
				return resp{data: inodeBytes(working)[:100]}
			}},
			wantErr: ErrProtocol,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.script...)
			got, err := testClient(t, f, Options{}).Lookup(ctx, "volume-abc", tt.tag)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			got.Created = got.Created.UTC()
			want := tt.want
			want.Created = got.Created
			if got.Created.Unix() != 1795280827 {
				t.Errorf("Created = %v", got.Created)
			}
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func snapshotSteps(tagLookup resp, newVDI resp, after ...step) []step {
	s := []step{
		expectGetVDIInfo("volume-abc", "", 0, resp{vid: working.vid}),
		expectReadInode(working),
		expectGetVDIInfo("volume-abc", "snap1", 0, tagLookup),
	}
	if tagLookup.result != ResNoTag {
		return s
	}
	s = append(s,
		expectInodeWrite(working.vid, 1, 256, name256("snap1")),
		func(t *testing.T, r rawReq) resp {
			hdr(0x02, 0x11, 0x01, 256).u64(16, 1<<30).u32(24, working.vid).u8(28, 1).u8(31, 22).u32(32, 1).check(t, r)
			checkPayload(t, r, name256("volume-abc"))
			return newVDI
		})
	return append(s, after...)
}

func TestSnapshot(t *testing.T) {
	snapped := working
	snapped.tag = "snap1"
	snapped.snapCtime = 1795280900 << 32
	tests := []struct {
		name    string
		script  []step
		wantErr error
	}{
		{
			name:   "old VID becomes the snapshot",
			script: snapshotSteps(resp{result: ResNoTag}, resp{vid: 0x378153}, expectReadInode(snapped)),
		},
		{
			name:    "existing tag",
			script:  snapshotSteps(resp{vid: 0x10}, resp{}),
			wantErr: ErrTagExists,
		},
		{
			name:    "tag lookup fails otherwise",
			script:  snapshotSteps(resp{result: ResEIO}, resp{}),
			wantErr: ErrIO,
		},
		{
			name: "NEW_VDI fails: the tag is taken off again",
			script: snapshotSteps(resp{result: ResNoTag}, resp{result: ResNoSpace},
				expectInodeWrite(working.vid, 1, 256, make([]byte, 256))),
			wantErr: ErrNoSpace,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.script...)
			snap, err := testClient(t, f, Options{}).Snapshot(ctx, "volume-abc", "snap1")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if snap.ID != working.vid || snap.Tag != "snap1" || !snap.Snapshot || snap.IsClone() {
				t.Errorf("snapshot = %+v, want VID %#x tagged snap1, a snapshot", snap, working.vid)
			}
		})
	}
}

func TestSnapshotMissingVDI(t *testing.T) {
	f := newFake(t, expectGetVDIInfo("nosuch", "", 0, resp{result: ResNoVDI}))
	if _, err := testClient(t, f, Options{}).Snapshot(ctx, "nosuch", "s"); !errors.Is(err, ErrNoVDI) {
		t.Fatalf("err = %v, want ErrNoVDI", err)
	}
}

func TestSnapshotHyperRefused(t *testing.T) {
	hyper := working
	hyper.store = 1
	f := newFake(t, expectGetVDIInfo("volume-abc", "", 0, resp{vid: hyper.vid}), expectReadInode(hyper))
	if _, err := testClient(t, f, Options{}).Snapshot(ctx, "volume-abc", "s"); !errors.Is(err, ErrInvalidParms) {
		t.Fatalf("err = %v, want ErrInvalidParms", err)
	}
}

func TestClone(t *testing.T) {
	snap := inodeSpec{name: "vol-v", tag: "s1", snapCtime: 1, size: 2 << 30, copies: 2, shift: 22, snapID: 1, vid: 0x2a75da}
	tests := []struct {
		name    string
		script  []step
		wantVID uint32
		wantErr error
	}{
		{
			name: "NEW_VDI with the snapshot as base",
			script: []step{
				expectGetVDIInfo("vol-v", "s1", 0, resp{vid: snap.vid}),
				expectReadInode(snap),
				func(t *testing.T, r rawReq) resp {
					hdr(0x02, 0x11, 0x01, 256).u64(16, 2<<30).u32(24, snap.vid).u8(31, 22).check(t, r)
					checkPayload(t, r, name256("vol-c"))
					return resp{vid: 0x260b0e}
				},
			},
			wantVID: 0x260b0e,
		},
		{
			name:    "missing tag",
			script:  []step{expectGetVDIInfo("vol-v", "s1", 0, resp{result: ResNoTag})},
			wantErr: ErrNoTag,
		},
		{
			name: "target exists",
			script: []step{
				expectGetVDIInfo("vol-v", "s1", 0, resp{vid: snap.vid}),
				expectReadInode(snap),
				func(t *testing.T, r rawReq) resp { return resp{result: ResVDIExist} },
			},
			wantErr: ErrVDIExists,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.script...)
			vid, err := testClient(t, f, Options{}).Clone(ctx, "vol-v", "s1", "vol-c")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || vid != tt.wantVID {
				t.Fatalf("Clone = %#x, %v; want %#x", vid, err, tt.wantVID)
			}
		})
	}
}

func TestResize(t *testing.T) {
	sizeBytes := func(v uint64) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, v)
		return b
	}
	hyper := working
	hyper.store = 1
	tests := []struct {
		name    string
		inode   inodeSpec
		size    uint64
		write   bool
		wantErr error
	}{
		{name: "grow", inode: working, size: 2 << 30, write: true},
		{name: "same size", inode: working, size: 1 << 30, write: true},
		{name: "up to 4 TiB", inode: working, size: MaxVDISize, write: true},
		{name: "shrink", inode: working, size: 1<<30 - 1, wantErr: ErrInvalidParms},
		{name: "above 4 TiB", inode: working, size: MaxVDISize + 1, wantErr: ErrInvalidParms},
		{name: "hyper above 4 TiB", inode: hyper, size: 5 << 40, write: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := []step{expectGetVDIInfo("volume-abc", "", 0, resp{vid: tt.inode.vid}), expectReadInode(tt.inode)}
			if tt.write {
				script = append(script, expectInodeWrite(tt.inode.vid, 1, 536, sizeBytes(tt.size)))
			}
			f := newFake(t, script...)
			err := testClient(t, f, Options{}).Resize(ctx, "volume-abc", tt.size)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resize: %v", err)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	// 5 objects of 4 MiB; entries 1, 2 (own and inherited) and 4 are set.
	vdi := working
	vdi.size = 5 << 22
	snap := inodeSpec{name: "volume-abc", tag: "snap1", snapCtime: 1, size: 1 << 22, copies: 1, shift: 22, snapID: 1, vid: 0x10}
	delVDI := func(tag string, snapid uint32) step {
		return func(t *testing.T, r rawReq) resp {
			hdr(0x02, 0x17, 0x01, 512).u32(32, snapid).check(t, r)
			checkPayload(t, r, nameTag512("volume-abc", tag))
			return resp{}
		}
	}
	tests := []struct {
		name, tag string
		script    []step
		wantErr   error
	}{
		{
			name: "working VDI: zero the references, then DEL_VDI",
			script: []step{
				expectGetVDIInfo("volume-abc", "", 0, resp{vid: vdi.vid}),
				expectReadInode(vdi),
				expectReadIndex(vdi.vid, 0, 0, vdi.vid, 0x10, 0, vdi.vid),
				expectInodeWrite(vdi.vid, 1, InodeHeaderSize+4, make([]byte, 8)),
				expectInodeWrite(vdi.vid, 1, InodeHeaderSize+16, make([]byte, 4)),
				delVDI("", 0),
			},
		},
		{
			name: "snapshot by tag", tag: "snap1",
			script: []step{
				expectGetVDIInfo("volume-abc", "snap1", 0, resp{vid: snap.vid}),
				expectReadInode(snap),
				expectReadIndex(snap.vid, 0, 0x10),
				expectInodeWrite(snap.vid, 1, InodeHeaderSize, make([]byte, 4)),
				delVDI("snap1", 0),
			},
		},
		{
			name: "snapshot by id", tag: "1",
			script: []step{
				expectGetVDIInfo("volume-abc", "", 1, resp{vid: snap.vid}),
				expectReadInode(snap),
				expectReadIndex(snap.vid, 0, 0),
				delVDI("", 1),
			},
		},
		{
			name:    "missing VDI",
			script:  []step{expectGetVDIInfo("volume-abc", "", 0, resp{result: ResNoVDI})},
			wantErr: ErrNoVDI,
		},
		{
			name: "missing tag", tag: "nosnap",
			script:  []step{expectGetVDIInfo("volume-abc", "nosnap", 0, resp{result: ResNoTag})},
			wantErr: ErrNoTag,
		},
		{
			name: "DEL_VDI fails",
			script: []step{
				expectGetVDIInfo("volume-abc", "", 0, resp{vid: vdi.vid}),
				expectReadInode(vdi),
				expectReadIndex(vdi.vid, 0, 0, 0, 0, 0, 0),
				func(t *testing.T, r rawReq) resp { return resp{result: ResEIO} },
			},
			wantErr: ErrIO,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.script...)
			err := testClient(t, f, Options{}).Delete(ctx, "volume-abc", tt.tag)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Delete: %v", err)
			}
		})
	}
}

// TestDeleteLargeIndex: the data_vdi_id table of a 4 TiB VDI (2^20
// entries, 4 MiB) is read in 1 MiB pieces, and only the set entry is zeroed.
func TestDeleteLargeIndex(t *testing.T) {
	big := working
	big.size = MaxVDISize
	ids := make([]uint32, dataIndexChunk)
	script := []step{expectGetVDIInfo("volume-abc", "", 0, resp{vid: big.vid}), expectReadInode(big)}
	for k := uint32(0); k < 4; k++ {
		chunk := ids
		if k == 3 {
			chunk = append([]uint32(nil), ids...)
			chunk[7] = 0x10
		}
		script = append(script, expectReadIndex(big.vid, k*dataIndexChunk, chunk...))
	}
	script = append(script,
		expectInodeWrite(big.vid, 1, InodeHeaderSize+4*(3*dataIndexChunk+7), make([]byte, 4)),
		func(t *testing.T, r rawReq) resp {
			hdr(0x02, 0x17, 0x01, 512).check(t, r)
			return resp{}
		})
	f := newFake(t, script...)
	if err := testClient(t, f, Options{}).Delete(ctx, "volume-abc", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func bitmapWith(vids ...uint32) []byte {
	b := make([]byte, VDIBitmapSize)
	for _, v := range vids {
		b[v/8] |= 1 << (v % 8)
	}
	return b
}

func TestList(t *testing.T) {
	a := inodeSpec{name: "volume-abc", tag: "snap1", snapCtime: 1, size: 1 << 30, copies: 1, shift: 22, snapID: 1, vid: 0x10}
	b := inodeSpec{name: "volume-abc", size: 1 << 30, copies: 1, shift: 22, snapID: 2, vid: 0x11, parent: 0x10}
	cl := inodeSpec{name: "volume-def", size: 1 << 30, copies: 1, shift: 22, snapID: 1, vid: 0x800000, parent: 0x10}
	gone := inodeSpec{vid: 0x13} // an inode with an empty name: deleted
	readVDIs := func(bm []byte) step {
		return func(t *testing.T, r rawReq) resp {
			hdr(0x02, 0x15, 0, VDIBitmapSize).check(t, r)
			return resp{data: bm}
		}
	}
	readDel := func(bm []byte) step {
		return func(t *testing.T, r rawReq) resp {
			hdr(0x0a, 0xC9, 0, VDIBitmapSize).check(t, r)
			return resp{data: bm}
		}
	}
	f := newFake(t,
		readVDIs(bitmapWith(0x10, 0x11, 0x12, 0x13, 0x800000)),
		readDel(bitmapWith(0x12)),
		expectReadInode(a), expectReadInode(b), expectReadInode(gone), expectReadInode(cl),
	)
	got, err := testClient(t, f, Options{}).List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	type row struct {
		name, tag string
		id        uint32
		snap      bool
		clone     bool
	}
	var rows []row
	for _, v := range got {
		rows = append(rows, row{v.Name, v.Tag, v.ID, v.Snapshot, v.IsClone()})
	}
	want := []row{{"volume-abc", "snap1", 0x10, true, false}, {"volume-abc", "", 0x11, false, false}, {"volume-def", "", 0x800000, false, true}}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v, want %+v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

func TestListGarbled(t *testing.T) {
	tests := []struct {
		name    string
		script  []step
		wantErr error
	}{
		{
			name:    "short bitmap",
			script:  []step{func(t *testing.T, r rawReq) resp { return resp{data: make([]byte, 1024)} }},
			wantErr: ErrProtocol,
		},
		{
			name:    "waiting for format",
			script:  []step{func(t *testing.T, r rawReq) resp { return resp{result: ResWaitForFmt} }},
			wantErr: ErrWaitForFormat,
		},
		{
			name: "inode read fails",
			script: []step{
				func(t *testing.T, r rawReq) resp { return resp{data: bitmapWith(5)} },
				func(t *testing.T, r rawReq) resp { return resp{data: bitmapWith()} },
				func(t *testing.T, r rawReq) resp { return resp{result: ResNoObj} },
			},
			wantErr: nil, // any error; checked below
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.script...)
			got, err := testClient(t, f, Options{}).List(ctx)
			if err == nil || got != nil {
				t.Fatalf("List = %v, %v; want an error", got, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestClusterInfo(t *testing.T) {
	tests := []struct {
		name     string
		result   uint32
		data     []byte
		running  bool
		status   string
		statErr  error
		wantErr  bool
		errMatch error
	}{
		{name: "running", result: ResSuccess, running: true, status: "running"},
		{name: "not formatted", result: ResWaitForFmt, status: "Waiting for cluster to be formatted", statErr: ErrWaitForFormat},
		{name: "waiting for join", result: ResWaitForJoin, status: "Waiting for other nodes to join cluster", statErr: ErrWaitForJoin},
		{name: "shutting down", result: ResShutdown, status: "System is shutting down"},
		{name: "version mismatch", result: ResVerMismatch, wantErr: true, errMatch: ErrVerMismatch},
		{name: "unknown code", result: 0x77, wantErr: true},
		{name: "epoch log nobody asked for", result: ResSuccess, data: make([]byte, 16), wantErr: true, errMatch: ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(t *testing.T, r rawReq) resp {
				hdr(0x0a, 0x87, 0, 0).check(t, r)
				return resp{result: tt.result, data: tt.data}
			})
			cl, err := testClient(t, f, Options{}).ClusterInfo(ctx)
			if tt.wantErr {
				if err == nil || (tt.errMatch != nil && !errors.Is(err, tt.errMatch)) {
					t.Fatalf("err = %v, want an error matching %v", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatalf("ClusterInfo: %v", err)
			}
			if cl.Running() != tt.running || cl.Status != tt.status {
				t.Errorf("cluster = %+v, want running=%v status %q", cl, tt.running, tt.status)
			}
			if tt.running && cl.Err() != nil {
				t.Errorf("Err() = %v on a running cluster", cl.Err())
			}
			if !tt.running && cl.Err() == nil {
				t.Errorf("Err() = nil on a cluster that is not running")
			}
			if tt.statErr != nil && !errors.Is(cl.Err(), tt.statErr) {
				t.Errorf("Err() = %v, want %v", cl.Err(), tt.statErr)
			}
		})
	}
}

func TestCapacity(t *testing.T) {
	tests := []struct {
		name              string
		out               resp
		wantTotal, wantUs uint64
		wantErr           error
	}{
		{name: "recorded node", out: resp{storeSize: 82065432576, storeFree: 82065432576 - 4194304}, wantTotal: 82065432576, wantUs: 4194304},
		{name: "empty store", out: resp{storeSize: 100, storeFree: 100}, wantTotal: 100},
		{name: "free above size", out: resp{storeSize: 1, storeFree: 2}, wantErr: ErrProtocol},
		{name: "not formatted", out: resp{result: ResWaitForFmt}, wantErr: ErrWaitForFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(t *testing.T, r rawReq) resp {
				hdr(0x0a, 0x86, 0, 0).check(t, r)
				return tt.out
			})
			total, used, err := testClient(t, f, Options{}).Capacity(ctx)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || total != tt.wantTotal || used != tt.wantUs {
				t.Fatalf("Capacity = %d, %d, %v; want %d, %d", total, used, err, tt.wantTotal, tt.wantUs)
			}
		})
	}
}

func TestPayloadOrder(t *testing.T) {
	// name+tag: the tag starts at byte 256 whatever the name's length.
	p := nameTagPayload("ab", "cd")
	if len(p) != 512 || !bytes.Equal(p[:3], []byte("ab\x00")) || !bytes.Equal(p[256:259], []byte("cd\x00")) {
		t.Errorf("payload % x", p[:8])
	}
}
