package sheepsim

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// This file is the tests' own minimal sheep request encoder (independent of internal/sheep
// and of the simulator's decoder), so the simulator is checked against the wire format
// itself.

type wreq struct {
	proto  uint8
	op     uint8
	flags  uint16
	length uint32 // data_length for reads; writes take len(data)
	data   []byte
	// object fields
	oid, cowOid uint64
	offset      uint32
	// vdi fields
	size     uint64
	base     uint32
	snapid   uint32
	copies   uint8
	storePol uint8
	blkShift uint8
	raw32    uint8 // raw byte @32 (MAKE_FS copies)
}

type wrsp struct {
	result uint32
	vid    uint32
	hdr    []byte
	data   []byte
}

func (r wreq) encode(obj bool) []byte {
	b := make([]byte, 48)
	proto := r.proto
	if proto == 0 {
		proto = 0x02
		if r.op >= 0x80 {
			proto = 0x0a
		}
	}
	if proto == 0xff {
		proto = 0
	}
	b[0], b[1] = proto, r.op
	flags := r.flags
	n := r.length
	if r.data != nil {
		flags |= 0x01
		n = uint32(len(r.data))
	}
	binary.LittleEndian.PutUint16(b[2:], flags)
	binary.LittleEndian.PutUint32(b[8:], 77)
	binary.LittleEndian.PutUint32(b[12:], n)
	if obj {
		binary.LittleEndian.PutUint64(b[16:], r.oid)
		binary.LittleEndian.PutUint64(b[24:], r.cowOid)
		binary.LittleEndian.PutUint32(b[40:], r.offset)
	} else {
		binary.LittleEndian.PutUint64(b[16:], r.size)
		binary.LittleEndian.PutUint32(b[24:], r.base)
		b[28], b[30], b[31] = r.copies, r.storePol, r.blkShift
		binary.LittleEndian.PutUint32(b[32:], r.snapid)
	}
	if r.raw32 != 0 {
		b[32] = r.raw32
	}
	return append(b, r.data...)
}

type client struct {
	t *testing.T
	c net.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial sheep simulator %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c}
}

func (c *client) do(r wreq) wrsp {
	c.t.Helper()
	obj := r.op <= 0x05
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write(r.encode(obj)); err != nil {
		c.t.Fatalf("send op %#x: %v", r.op, err)
	}
	h := make([]byte, 48)
	if _, err := io.ReadFull(c.c, h); err != nil {
		c.t.Fatalf("read reply of op %#x: %v", r.op, err)
	}
	if id := binary.LittleEndian.Uint32(h[8:]); id != 77 {
		c.t.Fatalf("reply id %d, want the request's 77", id)
	}
	data := make([]byte, binary.LittleEndian.Uint32(h[12:]))
	if _, err := io.ReadFull(c.c, data); err != nil {
		c.t.Fatalf("read reply data of op %#x: %v", r.op, err)
	}
	return wrsp{result: binary.LittleEndian.Uint32(h[16:]), vid: binary.LittleEndian.Uint32(h[24:]), hdr: h, data: data}
}

func name256(name string) []byte {
	b := make([]byte, 256)
	copy(b, name)
	return b
}

func nameTag512(name, tag string) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[256:], tag)
	return b
}

// must checks a result code and returns the reply.
func (c *client) must(r wreq, want uint32) wrsp {
	c.t.Helper()
	p := c.do(r)
	if p.result != want {
		c.t.Fatalf("op %#x: result %#x, want %#x", r.op, p.result, want)
	}
	return p
}

// expect checks the result code of a reply already received.
func (c *client) expect(p wrsp, want uint32) {
	c.t.Helper()
	if p.result != want {
		c.t.Fatalf("result %#x, want %#x", p.result, want)
	}
}

func (c *client) create(name string, size uint64) uint32 {
	c.t.Helper()
	return c.must(wreq{op: 0x11, size: size, data: name256(name)}, 0).vid
}

func (c *client) lookup(name, tag string, snapid uint32) wrsp {
	c.t.Helper()
	return c.do(wreq{op: 0x14, snapid: snapid, data: nameTag512(name, tag)})
}

func (c *client) inodeHeader(vid uint32) []byte {
	c.t.Helper()
	return c.must(wreq{op: 0x02, oid: VDIOid(vid), length: 4664}, 0).data
}

// snapshot does what dog does: write the tag into the working inode, then NEW_VDI snapid=1.
// It answers (new working VID, snapshot VID).
func (c *client) snapshot(name, tag string) (uint32, uint32) {
	c.t.Helper()
	vid := c.must(wreq{op: 0x14, data: nameTag512(name, "")}, 0).vid
	h := c.inodeHeader(vid)
	c.must(wreq{op: 0x03, oid: VDIOid(vid), offset: 256, data: name256(tag)}, 0)
	nv := c.must(wreq{op: 0x11, size: binary.LittleEndian.Uint64(h[536:]), base: vid, snapid: 1, data: name256(name)}, 0).vid
	return nv, vid
}

func (c *client) clone(snapVID uint32, name string, size uint64) uint32 {
	c.t.Helper()
	return c.must(wreq{op: 0x11, size: size, base: snapVID, data: name256(name)}, 0).vid
}

// write writes data at off of the VDI like a client: CREATE_AND_WRITE (with COW from an
// inherited object) when the object is not its own, then WRITE_OBJ of data_vdi_id[idx].
func (c *client) write(vid uint32, off uint64, data []byte) {
	c.t.Helper()
	const osz = 4 << 20
	for len(data) > 0 {
		idx, o := uint32(off/osz), off%osz
		n := min(uint64(len(data)), osz-o)
		cur := c.dataVDIID(vid, idx)
		if cur == vid {
			c.must(wreq{op: 0x03, oid: DataOid(vid, idx), offset: uint32(o), data: data[:n]}, 0)
		} else {
			r := wreq{op: 0x01, oid: DataOid(vid, idx), offset: uint32(o), data: data[:n]}
			if cur != 0 {
				r.flags, r.cowOid = 0x02, DataOid(cur, idx)
			}
			c.must(r, 0)
			e := make([]byte, 4)
			binary.LittleEndian.PutUint32(e, vid)
			c.must(wreq{op: 0x03, oid: VDIOid(vid), offset: 4664 + 4*idx, data: e}, 0)
		}
		off += n
		data = data[n:]
	}
}

func (c *client) dataVDIID(vid, idx uint32) uint32 {
	c.t.Helper()
	p := c.must(wreq{op: 0x02, oid: VDIOid(vid), offset: 4664 + 4*idx, length: 4}, 0)
	return binary.LittleEndian.Uint32(p.data)
}

// read reads through data_vdi_id like a client (unallocated = zeros).
func (c *client) read(vid uint32, off uint64, n int) []byte {
	c.t.Helper()
	const osz = 4 << 20
	out := make([]byte, 0, n)
	for n > 0 {
		idx, o := uint32(off/osz), off%osz
		k := min(uint64(n), osz-o)
		owner := c.dataVDIID(vid, idx)
		if owner == 0 {
			out = append(out, make([]byte, k)...)
		} else {
			out = append(out, c.must(wreq{op: 0x02, oid: DataOid(owner, idx), offset: uint32(o), length: uint32(k)}, 0).data...)
		}
		off += k
		n -= int(k)
	}
	return out
}

// deleteVDI does what dog does: zero the non-zero data_vdi_id entries, then DEL_VDI.
func (c *client) deleteVDI(name, tag string, zero bool) wrsp {
	c.t.Helper()
	p := c.lookup(name, tag, 0)
	if p.result != 0 {
		return p
	}
	if zero {
		h := c.inodeHeader(p.vid)
		size := binary.LittleEndian.Uint64(h[536:])
		for idx := uint32(0); uint64(idx)*(4<<20) < size; idx++ {
			if c.dataVDIID(p.vid, idx) != 0 {
				c.must(wreq{op: 0x03, oid: VDIOid(p.vid), offset: 4664 + 4*idx, data: make([]byte, 4)}, 0)
			}
		}
	}
	return c.do(wreq{op: 0x17, data: nameTag512(name, tag)})
}
