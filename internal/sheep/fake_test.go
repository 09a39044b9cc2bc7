package sheep

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// This file holds the scripted fake server of the unit tests: a loopback TCP
// listener that hands each request, as raw bytes, to the next step of a
// per-test script and writes back what the step says. It knows nothing of
// sheep's behaviour; every test scripts the exact requests it expects and
// the recorded shapes of the replies.

// rawReq is a request as it arrived: its 48 header bytes, its payload and
// the number of the connection it came on (0, 1, … in accept order).
type rawReq struct {
	hdr     [HeaderSize]byte
	payload []byte
	conn    int
}

func (r rawReq) id() uint32 { return binary.LittleEndian.Uint32(r.hdr[8:]) }

// resp is what a step answers. By default a 48-byte reply echoing the
// request id with result, vid, store sizes and data (data_length = len(data)).
type resp struct {
	result               uint32
	vid                  uint32
	storeSize, storeFree uint64
	data                 []byte
	dataLen              *uint32 // overrides data_length
	id                   *uint32 // overrides the echoed id
	raw                  []byte  // written instead of a reply
	close                bool    // close the connection after answering
	hang                 bool    // never answer
}

type step func(t *testing.T, r rawReq) resp

type fakeSheep struct {
	t    *testing.T
	ln   net.Listener
	done chan struct{}

	mu     sync.Mutex
	script []step
	nconn  int
	ended  int // connections whose handler returned
	conns  []net.Conn
	// serve, when set, answers every request instead of the script.
	serve step
	wg    sync.WaitGroup
}

func newFake(t *testing.T, script ...step) *fakeSheep {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f := &fakeSheep{t: t, ln: ln, done: make(chan struct{}), script: script}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() {
		close(f.done)
		_ = ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			_ = c.Close()
		}
		left := len(f.script)
		f.mu.Unlock()
		f.wg.Wait()
		if left != 0 && !t.Failed() {
			t.Errorf("fake sheep: %d scripted requests never came", left)
		}
	})
	return f
}

// setServe makes s answer every request instead of the script.
func (f *fakeSheep) setServe(s step) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serve = s
}

func (f *fakeSheep) addr() string { return f.ln.Addr().String() }

func (f *fakeSheep) connCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nconn
}

// closeConns closes every accepted connection, as a restarted sheep would.
func (f *fakeSheep) closeConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
}

func (f *fakeSheep) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		n := f.nconn
		f.nconn++
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.handle(c, n)
	}
}

func (f *fakeSheep) next() step {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.serve != nil {
		return f.serve
	}
	if len(f.script) == 0 {
		return nil
	}
	s := f.script[0]
	f.script = f.script[1:]
	return s
}

func (f *fakeSheep) endedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

func (f *fakeSheep) handle(c net.Conn, n int) {
	defer f.wg.Done()
	defer func() {
		_ = c.Close()
		f.mu.Lock()
		f.ended++
		f.mu.Unlock()
	}()
	for {
		var r rawReq
		r.conn = n
		if _, err := io.ReadFull(c, r.hdr[:]); err != nil {
			return
		}
		if binary.LittleEndian.Uint16(r.hdr[2:])&FlagCmdWrite != 0 {
			r.payload = make([]byte, binary.LittleEndian.Uint32(r.hdr[12:]))
			if _, err := io.ReadFull(c, r.payload); err != nil {
				f.t.Errorf("fake sheep: short request payload: %v", err)
				return
			}
		}
		s := f.next()
		if s == nil {
			f.t.Errorf("fake sheep: unexpected request opcode %#02x", r.hdr[1])
			return
		}
		out := s(f.t, r)
		if out.hang {
			<-f.done
			return
		}
		if out.raw != nil {
			_, _ = c.Write(out.raw)
		} else {
			_, _ = c.Write(replyBytes(r, out))
		}
		if out.close {
			return
		}
	}
}

func replyBytes(r rawReq, out resp) []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(out.data))
	le := binary.LittleEndian
	b[0] = r.hdr[0]
	b[1] = r.hdr[1]
	id := r.id()
	if out.id != nil {
		id = *out.id
	}
	le.PutUint32(b[8:], id)
	dl := uint32(len(out.data))
	if out.dataLen != nil {
		dl = *out.dataLen
	}
	le.PutUint32(b[12:], dl)
	le.PutUint32(b[16:], out.result)
	if out.vid != 0 {
		le.PutUint32(b[24:], out.vid)
	}
	if out.storeSize != 0 || out.storeFree != 0 {
		le.PutUint64(b[32:], out.storeSize)
		le.PutUint64(b[40:], out.storeFree)
	}
	return append(b, out.data...)
}

// hb builds an expected request header byte by byte, at the offsets of
// sheepdog.md §6; bytes 8–11 (the id) are not compared.
type hb [HeaderSize]byte

func hdr(proto, op uint8, flags uint16, dlen uint32) *hb {
	var h hb
	h[0], h[1] = proto, op
	binary.LittleEndian.PutUint16(h[2:], flags)
	binary.LittleEndian.PutUint32(h[12:], dlen)
	return &h
}

func (h *hb) u8(off int, v uint8) *hb   { h[off] = v; return h }
func (h *hb) u32(off int, v uint32) *hb { binary.LittleEndian.PutUint32(h[off:], v); return h }
func (h *hb) u64(off int, v uint64) *hb { binary.LittleEndian.PutUint64(h[off:], v); return h }

func (h *hb) check(t *testing.T, r rawReq) {
	t.Helper()
	got := r.hdr
	want := *h
	copy(got[8:12], []byte{0, 0, 0, 0})
	if got != want {
		t.Errorf("request header\n got % x\nwant % x", got[:], want[:])
	}
	if r.id() == 0 {
		t.Errorf("request id is 0")
	}
}

func name256(s string) []byte {
	b := make([]byte, 256)
	copy(b, s)
	return b
}

func nameTag512(name, tag string) []byte { return append(name256(name), name256(tag)...) }

func checkPayload(t *testing.T, r rawReq, want []byte) {
	t.Helper()
	if !bytes.Equal(r.payload, want) {
		t.Errorf("payload of opcode %#02x\n got %q\nwant %q", r.hdr[1], r.payload, want)
	}
}

// inodeSpec is a test inode, laid out byte by byte by inodeBytes at the
// offsets of sheepdog.md §6 (independently of DecodeInode).
type inodeSpec struct {
	name, tag              string
	ctime, snapCtime, size uint64
	copyPolicy, store      uint8
	copies, shift          uint8
	snapID, vid, parent    uint32
}

func inodeBytes(s inodeSpec) []byte {
	b := make([]byte, InodeHeaderSize)
	le := binary.LittleEndian
	copy(b[0:256], s.name)
	copy(b[256:512], s.tag)
	le.PutUint64(b[512:], s.ctime)
	le.PutUint64(b[520:], s.snapCtime)
	le.PutUint64(b[536:], s.size)
	b[552], b[553], b[554], b[555] = s.copyPolicy, s.store, s.copies, s.shift
	le.PutUint32(b[556:], s.snapID)
	le.PutUint32(b[560:], s.vid)
	le.PutUint32(b[564:], s.parent)
	return b
}

func u32s(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// Common steps.

func expectGetVDIInfo(name, tag string, snapid uint32, out resp) step {
	return func(t *testing.T, r rawReq) resp {
		hdr(ProtoVer, OpGetVDIInfo, FlagCmdWrite, 512).u32(32, snapid).check(t, r)
		checkPayload(t, r, nameTag512(name, tag))
		return out
	}
}

func expectReadInode(s inodeSpec) step {
	return func(t *testing.T, r rawReq) resp {
		hdr(ProtoVer, OpReadObj, 0, InodeHeaderSize).u64(16, VDIOid(s.vid)).check(t, r)
		return resp{data: inodeBytes(s)}
	}
}

func expectReadIndex(vid, start uint32, ids ...uint32) step {
	return func(t *testing.T, r rawReq) resp {
		hdr(ProtoVer, OpReadObj, 0, uint32(4*len(ids))).u64(16, VDIOid(vid)).u32(40, InodeHeaderSize+4*start).check(t, r)
		return resp{data: u32s(ids...)}
	}
}

func expectInodeWrite(vid uint32, copies uint8, off uint32, payload []byte) step {
	return func(t *testing.T, r rawReq) resp {
		hdr(ProtoVer, OpWriteObj, FlagCmdWrite, uint32(len(payload))).u64(16, VDIOid(vid)).u8(32, copies).u32(40, off).check(t, r)
		checkPayload(t, r, payload)
		return resp{}
	}
}

func testClient(t *testing.T, f *fakeSheep, opts Options) *Client {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	c := New(f.addr(), opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
