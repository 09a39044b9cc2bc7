package sheep

import (
	"errors"
	"testing"
	"time"
)

// at lists expected bytes at offsets; every byte not listed must be zero.
type at map[int][]byte

func layout(m at) [HeaderSize]byte {
	var b [HeaderSize]byte
	for off, v := range m {
		copy(b[off:], v)
	}
	return b
}

func TestEncodeRequestLayout(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want at
	}{
		{
			name: "NEW_VDI create 1 GiB",
			req:  Request{ProtoVer: 0x02, Opcode: 0x11, Flags: 0x01, ID: 7, DataLength: 256, VDISize: 1 << 30},
			want: at{0: {0x02, 0x11, 0x01, 0x00}, 8: {7, 0, 0, 0}, 12: {0x00, 0x01, 0, 0},
				16: {0, 0, 0, 0x40, 0, 0, 0, 0}},
		},
		{
			name: "NEW_VDI snapshot: base, copies, policies, shift, snapid",
			req: Request{ProtoVer: 0x02, Opcode: 0x11, Flags: 0x01, DataLength: 256, VDISize: 0x0102030405060708,
				BaseVDIID: 0x2a75d9, Copies: 3, CopyPolicy: 4, StorePolicy: 1, BlockSizeShift: 22, SnapID: 1, Type: 9},
			want: at{0: {0x02, 0x11, 0x01, 0x00}, 12: {0x00, 0x01},
				16: {8, 7, 6, 5, 4, 3, 2, 1}, 24: {0xd9, 0x75, 0x2a, 0x00}, 28: {3, 4, 1, 22},
				32: {1, 0, 0, 0}, 36: {9, 0, 0, 0}},
		},
		{
			name: "GET_VDI_INFO by snapshot id",
			req:  Request{ProtoVer: 0x02, Opcode: 0x14, Flags: 0x01, DataLength: 512, SnapID: 2},
			want: at{0: {0x02, 0x14, 0x01, 0x00}, 12: {0x00, 0x02}, 32: {2}},
		},
		{
			name: "READ_OBJ inode header",
			req:  Request{ProtoVer: 0x02, Opcode: 0x02, DataLength: 4664, Oid: VDIOid(0x2a75d9)},
			want: at{0: {0x02, 0x02}, 12: {0x38, 0x12}, 16: {0, 0, 0, 0, 0xd9, 0x75, 0x2a, 0x80}},
		},
		{
			name: "CREATE_AND_WRITE_OBJ copy-on-write",
			req: Request{ProtoVer: 0x02, Opcode: 0x01, Flags: 0x01 | 0x02, DataLength: 11,
				Oid: DataOid(0x11, 3), CowOid: DataOid(0x10, 3), ObjCopies: 2, ObjPolicy: 5, ECIndex: 6, TgtEpoch: 0x0a0b, Offset: 512},
			want: at{0: {0x02, 0x01, 0x03, 0x00}, 12: {11}, 16: {3, 0, 0, 0, 0x11, 0, 0, 0},
				24: {3, 0, 0, 0, 0x10, 0, 0, 0}, 32: {2, 5, 6, 0}, 36: {0x0b, 0x0a, 0, 0}, 40: {0x00, 0x02, 0, 0}},
		},
		{
			name: "internal STAT_SHEEP carries proto 0x0a",
			req:  Request{ProtoVer: 0x0a, Opcode: 0x86, Epoch: 5},
			want: at{0: {0x0a, 0x86}, 4: {5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [HeaderSize]byte
			for i := range got {
				got[i] = 0xee // must all be overwritten
			}
			if err := EncodeRequest(got[:], &tt.req); err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if want := layout(tt.want); got != want {
				t.Errorf("\n got % x\nwant % x", got[:], want[:])
			}
		})
	}
}

func TestEncodeRequestRefuses(t *testing.T) {
	tests := []struct {
		name string
		buf  int
		req  Request
	}{
		{"short buffer", HeaderSize - 1, Request{Opcode: OpNewVDI}},
		{"VDI and object fields mixed", HeaderSize, Request{Opcode: OpNewVDI, VDISize: 1, Oid: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := EncodeRequest(make([]byte, tt.buf), &tt.req); err == nil {
				t.Fatal("EncodeRequest: no error")
			}
		})
	}
}

func TestDecodeReply(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Reply
		wantErr bool
	}{
		{
			name: "NEW_VDI reply with the new VID",
			in: func() []byte {
				b := layout(at{0: {0x02, 0x11}, 8: {9}, 16: {0}, 24: {0xd9, 0x75, 0x2a}, 28: {1}, 32: {2}})
				return b[:]
			}(),
			want: Reply{ProtoVer: 2, Opcode: 0x11, ID: 9, VDIID: 0x2a75d9, AttrID: 1, Copies: 2, StoreSize: 2},
		},
		{
			name: "STAT_SHEEP store size and free",
			in: func() []byte {
				b := layout(at{1: {0x86}, 32: {0, 0, 0, 0, 0x13, 0, 0, 0}, 40: {0, 0, 0, 0, 0x02, 0, 0, 0}})
				return b[:]
			}(),
			want: Reply{Opcode: 0x86, StoreSize: 0x13 << 32, StoreFree: 2 << 32},
		},
		{
			name: "result and data length",
			in: func() []byte {
				b := layout(at{12: {0x00, 0x00, 0x20}, 16: {0x16}})
				return b[:]
			}(),
			want: Reply{DataLength: 2 << 20, Result: ResWaitForFmt},
		},
		{name: "short header", in: make([]byte, 47), wantErr: true},
		{name: "long header", in: make([]byte, 49), wantErr: true},
		{name: "empty", in: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReply(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("err = %v, want ErrProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeInode(t *testing.T) {
	full := inodeSpec{name: "volume-abc", tag: "snap1", ctime: 1795280827<<32 | 5, snapCtime: 1795280830 << 32,
		size: 1 << 30, copyPolicy: 0, store: 0, copies: 1, shift: 22, snapID: 1, vid: 0x378152, parent: 0x10}
	tests := []struct {
		name string
		in   []byte
		want VDI
	}{
		{
			name: "snapshot",
			in:   inodeBytes(full),
			want: VDI{Name: "volume-abc", Tag: "snap1", ID: 0x378152, SnapID: 1, ParentID: 0x10, Size: 1 << 30,
				Created: time.Unix(1795280827, 5), Copies: 1, BlockSizeShift: 22, Snapshot: true},
		},
		{
			name: "working VDI with a 255-byte name",
			in: inodeBytes(inodeSpec{name: string(make255('n')), ctime: 1 << 32, size: 0, copies: 2,
				shift: 22, snapID: 2, vid: 0xa0b3ed}),
			want: VDI{Name: string(make255('n')), ID: 0xa0b3ed, SnapID: 2, Created: time.Unix(1, 0), Copies: 2,
				BlockSizeShift: 22},
		},
		{
			name: "hyper volume",
			in:   inodeBytes(inodeSpec{name: "h", store: 1, vid: 3, ctime: 0}),
			want: VDI{Name: "h", ID: 3, Created: time.Unix(0, 0), Hyper: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeInode(tt.in)
			if err != nil {
				t.Fatalf("DecodeInode: %v", err)
			}
			got := in.VDI()
			if !got.Created.Equal(tt.want.Created) {
				t.Errorf("Created = %v, want %v", got.Created, tt.want.Created)
			}
			got.Created, tt.want.Created = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := DecodeInode(make([]byte, InodeHeaderSize-1)); !errors.Is(err, ErrProtocol) {
		t.Errorf("short inode: err = %v, want ErrProtocol", err)
	}
}

func make255(c byte) []byte {
	b := make([]byte, 255)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestObjectIDs(t *testing.T) {
	tests := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"inode oid", VDIOid(0x2a75d9), 0x802a75d900000000},
		{"data oid", DataOid(0x2a75d9, 0x10), 0x002a75d900000010},
		{"last data object of a 4 TiB VDI", DataOid(1, MaxDataObjs-1), 0x00000001000fffff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %#x, want %#x", tt.got, tt.want)
			}
		})
	}
}

func TestInodeObjectSize(t *testing.T) {
	tests := []struct {
		shift uint8
		want  uint64
	}{{0, 4 << 20}, {22, 4 << 20}, {20, 1 << 20}, {23, 8 << 20}}
	for _, tt := range tests {
		if got := (Inode{BlockSizeShift: tt.shift}).ObjectSize(); got != tt.want {
			t.Errorf("shift %d: ObjectSize = %d, want %d", tt.shift, got, tt.want)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req := Request{ProtoVer: ProtoVer, Opcode: OpCreateAndWriteObj, Flags: FlagCmdWrite | FlagCmdCOW, ID: 1,
		DataLength: 4096, Oid: DataOid(0x11, 3), CowOid: DataOid(0x10, 3), ObjCopies: 1, Offset: 512}
	var buf [HeaderSize]byte
	b.ReportAllocs()
	for b.Loop() {
		if err := EncodeRequest(buf[:], &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeNewVDI(b *testing.B) {
	req := Request{ProtoVer: ProtoVer, Opcode: OpNewVDI, Flags: FlagCmdWrite, DataLength: 256, VDISize: 1 << 30,
		BaseVDIID: 0x10, SnapID: 1}
	var buf [HeaderSize]byte
	payload := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if err := EncodeRequest(buf[:], &req); err != nil {
			b.Fatal(err)
		}
		putName(payload, "volume-0b7ac3a2-8a53-4b64-9c3e-7f4e2c0d9e11")
	}
}

func BenchmarkDecodeReply(b *testing.B) {
	in := layout(at{0: {2, 0x11}, 24: {0xd9, 0x75, 0x2a}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeReply(in[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInode(b *testing.B) {
	in := inodeBytes(inodeSpec{name: "volume-abc", tag: "snap1", size: 1 << 30, vid: 0x10})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeInode(in); err != nil {
			b.Fatal(err)
		}
	}
}
