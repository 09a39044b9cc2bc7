package sheep

import (
	"bytes"
	"errors"
	"testing"
)

// small is a working VDI of three 1 MiB objects (block_size_shift 20), so
// a write can touch all three without megabytes of test data.
var small = inodeSpec{name: "vol-a", size: 3 << 20, copies: 2, shift: 20, snapID: 2, vid: 0x20, parent: 0x05}

func TestSpans(t *testing.T) {
	tests := []struct {
		name string
		off  int64
		n    int
		obj  uint64
		want []span
	}{
		{"inside one object", 512, 11, 4 << 20, []span{{0, 512, 0, 11}}},
		{"across a boundary", 4<<20 - 4, 8, 4 << 20, []span{{0, 4<<20 - 4, 0, 4}, {1, 0, 4, 4}}},
		{"three objects", 1<<20 - 1, 1<<20 + 2, 1 << 20, []span{{0, 1<<20 - 1, 0, 1}, {1, 0, 1, 1 << 20}, {2, 0, 1<<20 + 1, 1}}},
		{"whole object", 1 << 20, 1 << 20, 1 << 20, []span{{1, 0, 0, 1 << 20}}},
		{"nothing", 5, 0, 1 << 20, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spans(tt.off, tt.n, tt.obj)
			if len(got) != len(tt.want) {
				t.Fatalf("spans = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("span %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadAt(t *testing.T) {
	// 8 bytes across objects 0 and 1: object 0 inherited from VID 5 (read
	// from DataOid(5, 0)), object 1 unallocated (zeros).
	f := newFake(t,
		expectGetVDIInfo("vol-a", "s1", 0, resp{vid: small.vid}),
		expectReadInode(small),
		expectReadIndex(small.vid, 0, 0x05, 0),
		func(t *testing.T, r rawReq) resp {
			hdr(0x02, 0x02, 0, 4).u64(16, DataOid(0x05, 0)).u32(40, 1<<20-4).check(t, r)
			return resp{data: []byte("abcd")}
		},
	)
	p := bytes.Repeat([]byte{0xff}, 8)
	if err := testClient(t, f, Options{}).ReadAt(ctx, "vol-a", "s1", p, 1<<20-4); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	if want := []byte("abcd\x00\x00\x00\x00"); !bytes.Equal(p, want) {
		t.Errorf("read %q, want %q", p, want)
	}
}

func TestReadAtRefusals(t *testing.T) {
	hyper := small
	hyper.store = 1
	tests := []struct {
		name   string
		inode  inodeSpec
		off    int64
		n      int
		script []step
		want   error
	}{
		{name: "past the end", inode: small, off: 3<<20 - 1, n: 2, want: ErrInvalidParms},
		{name: "negative offset", inode: small, off: -1, n: 1, want: ErrInvalidParms},
		{name: "hyper volume", inode: hyper, off: 0, n: 1, want: ErrInvalidParms},
		{name: "short object read", inode: small, off: 0, n: 4, want: ErrProtocol, script: []step{
			expectReadIndex(small.vid, 0, small.vid),
			func(t *testing.T, r rawReq) resp { return resp{data: []byte("ab")} },
		}},
		{name: "object read fails", inode: small, off: 0, n: 4, want: ErrIO, script: []step{
			expectReadIndex(small.vid, 0, small.vid),
			func(t *testing.T, r rawReq) resp { return resp{result: ResEIO} },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := append([]step{expectGetVDIInfo("vol-a", "", 0, resp{vid: tt.inode.vid}), expectReadInode(tt.inode)}, tt.script...)
			f := newFake(t, script...)
			err := testClient(t, f, Options{}).ReadAt(ctx, "vol-a", "", make([]byte, tt.n), tt.off)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// dataWrite expects a data object write of payload at off of oid.
func dataWrite(op uint8, flags uint16, oid, cow uint64, off uint32, payload []byte, out resp) step {
	return func(t *testing.T, r rawReq) resp {
		hdr(0x02, op, flags, uint32(len(payload))).u64(16, oid).u64(24, cow).u8(32, 2).u32(40, off).check(t, r)
		checkPayload(t, r, payload)
		return out
	}
}

func TestWriteAt(t *testing.T) {
	// Objects: 0 owned (WRITE_OBJ in place), 1 unallocated (create, then
	// record), 2 inherited from VID 5 (create copy-on-write, then record).
	data := make([]byte, 1<<20+2)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	off := int64(1<<20 - 1)
	f := newFake(t,
		expectGetVDIInfo("vol-a", "", 0, resp{vid: small.vid}),
		expectReadInode(small),
		expectReadIndex(small.vid, 0, small.vid, 0, 0x05),
		dataWrite(0x03, 0x01, DataOid(small.vid, 0), 0, 1<<20-1, data[:1], resp{}),
		dataWrite(0x01, 0x01, DataOid(small.vid, 1), 0, 0, data[1:1<<20+1], resp{}),
		expectInodeWrite(small.vid, 2, InodeHeaderSize+4, u32s(small.vid)),
		dataWrite(0x01, 0x01|0x02, DataOid(small.vid, 2), DataOid(0x05, 2), 0, data[1<<20+1:], resp{}),
		expectInodeWrite(small.vid, 2, InodeHeaderSize+8, u32s(small.vid)),
	)
	if err := testClient(t, f, Options{}).WriteAt(ctx, "vol-a", data, off); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
}

// TestWriteAtAfterSnapshot: the VID looked up became a snapshot before the
// write (sheep answers READONLY, as recorded with tgt); the client looks the
// name up again and writes copy-on-write into the new working VDI.
func TestWriteAtAfterSnapshot(t *testing.T) {
	moved := small
	moved.vid, moved.parent, moved.snapID = 0x21, small.vid, 3
	f := newFake(t,
		expectGetVDIInfo("vol-a", "", 0, resp{vid: small.vid}),
		expectReadInode(small),
		expectReadIndex(small.vid, 0, small.vid),
		dataWrite(0x03, 0x01, DataOid(small.vid, 0), 0, 0, []byte("x"), resp{result: ResReadOnly}),
		expectGetVDIInfo("vol-a", "", 0, resp{vid: moved.vid}),
		expectReadInode(moved),
		expectReadIndex(moved.vid, 0, small.vid),
		dataWrite(0x01, 0x03, DataOid(moved.vid, 0), DataOid(small.vid, 0), 0, []byte("x"), resp{}),
		expectInodeWrite(moved.vid, 2, InodeHeaderSize, u32s(moved.vid)),
	)
	if err := testClient(t, f, Options{}).WriteAt(ctx, "vol-a", []byte("x"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
}

func TestWriteAtReadOnlyTwice(t *testing.T) {
	var script []step
	for range 2 {
		script = append(script,
			expectGetVDIInfo("vol-a", "", 0, resp{vid: small.vid}),
			expectReadInode(small),
			expectReadIndex(small.vid, 0, small.vid),
			dataWrite(0x03, 0x01, DataOid(small.vid, 0), 0, 0, []byte("x"), resp{result: ResReadOnly}))
	}
	f := newFake(t, script...)
	if err := testClient(t, f, Options{}).WriteAt(ctx, "vol-a", []byte("x"), 0); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v, want ErrReadOnly", err)
	}
}

func TestWriteAtNoSpace(t *testing.T) {
	f := newFake(t,
		expectGetVDIInfo("vol-a", "", 0, resp{vid: small.vid}),
		expectReadInode(small),
		expectReadIndex(small.vid, 1, 0),
		dataWrite(0x01, 0x01, DataOid(small.vid, 1), 0, 0, []byte("x"), resp{result: ResNoSpace}),
	)
	if err := testClient(t, f, Options{}).WriteAt(ctx, "vol-a", []byte("x"), 1<<20); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("err = %v, want ErrNoSpace", err)
	}
}

func TestCopyData(t *testing.T) {
	// Source snapshot: 3 objects of 1 MiB, only object 1 allocated (owned by
	// VID 5, inherited). Destination: a larger new VDI, nothing allocated.
	src := small
	src.tag, src.snapCtime, src.vid = "s1", 1, 0x30
	dst := inodeSpec{name: "vol-b", size: 4 << 20, copies: 2, shift: 20, snapID: 1, vid: 0x40}
	obj := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	f := newFake(t,
		expectGetVDIInfo("vol-a", "s1", 0, resp{vid: src.vid}),
		expectReadInode(src),
		expectGetVDIInfo("vol-b", "", 0, resp{vid: dst.vid}),
		expectReadInode(dst),
		expectReadIndex(src.vid, 0, 0, 0x05, 0),
		func(t *testing.T, r rawReq) resp {
			hdr(0x02, 0x02, 0, 1<<20).u64(16, DataOid(0x05, 1)).check(t, r)
			return resp{data: obj}
		},
		expectReadIndex(dst.vid, 1, 0),
		dataWrite(0x01, 0x01, DataOid(dst.vid, 1), 0, 0, obj, resp{}),
		expectInodeWrite(dst.vid, 2, InodeHeaderSize+4, u32s(dst.vid)),
	)
	if err := testClient(t, f, Options{}).CopyData(ctx, "vol-a", "s1", "vol-b"); err != nil {
		t.Fatalf("CopyData: %v", err)
	}
}

func TestCopyDataRefusals(t *testing.T) {
	big := inodeSpec{name: "vol-a", size: 8 << 20, shift: 20, vid: 0x30, snapCtime: 1, tag: "s1"}
	smallDst := inodeSpec{name: "vol-b", size: 4 << 20, shift: 20, vid: 0x40}
	f := newFake(t,
		expectGetVDIInfo("vol-a", "s1", 0, resp{vid: big.vid}),
		expectReadInode(big),
		expectGetVDIInfo("vol-b", "", 0, resp{vid: smallDst.vid}),
		expectReadInode(smallDst),
	)
	if err := testClient(t, f, Options{}).CopyData(ctx, "vol-a", "s1", "vol-b"); !errors.Is(err, ErrInvalidParms) {
		t.Fatalf("err = %v, want ErrInvalidParms", err)
	}
}
