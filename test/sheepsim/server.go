package sheepsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"time"
)

// Options configure a simulator.
type Options struct {
	// Addr is the listen address; empty means 127.0.0.1:0 (a free port). Note that tgt 1.0.85's
	// bs_sheepdog formats the port into a 5-byte buffer (snprintf(port_s, 5, …)), so a tgtd
	// client can only reach ports of at most 4 digits (≤ 9999).
	Addr string
	// Unformatted starts the simulated cluster waiting for a format (MAKE_FS 0x84 or Format):
	// every non-forced operation answers SD_RES_WAIT_FOR_FORMAT, as a fresh real sheep does.
	Unformatted bool
	// StoreSize is the capacity STAT_SHEEP reports (bytes); 0 means 80 GiB.
	StoreSize uint64
	// Logf receives the log lines a real sheep would write (e.g. "vid 378152 still has
	// objects"); nil discards them.
	Logf func(format string, args ...any)
}

// VDI describes one VDI (working, snapshot or tombstone) for tests.
type VDI struct {
	VID            uint32
	Name           string
	Tag            string
	Size           uint64
	SnapID         uint32
	ParentVID      uint32
	Snapshot       bool // snap_ctime is set: the VDI is a snapshot, its data objects are read-only
	Deleted        bool // DEL_VDI succeeded for it (its bit is in the deleted bitmap)
	BlockSizeShift uint8
	NrCopies       uint8
	// DataVDIIDs is the non-zero part of data_vdi_id: object index → owning VID.
	DataVDIIDs map[uint32]uint32
}

// Object is one stored data object.
type Object struct {
	Oid  uint64
	VID  uint32
	Idx  uint32
	Data []byte // a copy, object-size long
}

type fault struct {
	result uint32
	left   int
}

type inode struct {
	hdr      [InodeHeaderSize]byte
	data     map[uint32]uint32 // data_vdi_id, non-zero entries only
	snapshot bool              // the vdi state's snapshot flag (vid_is_snapshot)
}

func (in *inode) name() string       { return cString(in.hdr[offName : offName+MaxVDILen]) }
func (in *inode) tag() string        { return cString(in.hdr[offTag : offTag+MaxTagLen]) }
func (in *inode) u32(off int) uint32 { return binary.LittleEndian.Uint32(in.hdr[off:]) }
func (in *inode) u64(off int) uint64 { return binary.LittleEndian.Uint64(in.hdr[off:]) }
func (in *inode) snapCtime() uint64  { return in.u64(offSnapCtime) }
func (in *inode) isSnapshot() bool   { return in.snapCtime() != 0 }
func (in *inode) snapID() uint32     { return in.u32(offSnapID) }
func (in *inode) objectSize() uint32 { return uint32(1) << in.hdr[offBlockSizeShift] }

// Server is a running sheep simulator.
type Server struct {
	opts Options

	mu        sync.Mutex
	formatted bool
	ctime     uint64
	epoch     uint32
	nrCopies  uint8
	inuse     []byte
	deleted   []byte
	inodes    map[uint32]*inode
	objects   map[uint64][]byte
	faults    map[uint8]*fault
	counts    map[uint8]int
	answers   map[uint32]int

	netMu  sync.Mutex
	ln     net.Listener
	addr   string
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
}

// Start listens on opts.Addr (127.0.0.1:0 by default) and serves the sheep protocol.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.StoreSize == 0 {
		opts.StoreSize = 80 << 30
	}
	s := &Server{opts: opts, conns: map[net.Conn]struct{}{}}
	s.wipe()
	if !opts.Unformatted {
		s.format(1)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("sheep simulator: listen on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.wg.Add(1)
	go s.serve(ln)
	return s, nil
}

// Addr is the host:port the simulator listens on.
func (s *Server) Addr() string {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	return s.addr
}

// Port is the TCP port the simulator listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	var n int
	fmt.Sscanf(p, "%d", &n)
	return n
}

// Stop closes the listener and every connection, like a sheep that exits. The data stay, so
// Restart can bring the same cluster back.
func (s *Server) Stop() {
	s.netMu.Lock()
	if s.closed {
		s.netMu.Unlock()
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.netMu.Unlock()
	s.wg.Wait()
}

// Restart stops the simulator if it runs and listens again on the same address with the same
// data (a sheep restarted on its store).
func (s *Server) Restart() error {
	s.Stop()
	s.netMu.Lock()
	defer s.netMu.Unlock()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		ln, err = net.Listen("tcp", s.addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("sheep simulator: listen again on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.closed = false
	s.wg.Add(1)
	go s.serve(ln)
	return nil
}

// Format formats the simulated cluster like `dog cluster format -f`: all VDIs and objects are
// wiped and the cluster is running.
func (s *Server) Format() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wipe()
	s.format(1)
}

// Formatted reports whether the simulated cluster was formatted.
func (s *Server) Formatted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.formatted
}

func (s *Server) wipe() {
	s.inuse = make([]byte, BitmapSize)
	s.deleted = make([]byte, BitmapSize)
	s.inodes = map[uint32]*inode{}
	s.objects = map[uint64][]byte{}
	if s.faults == nil {
		s.faults = map[uint8]*fault{}
	}
	if s.counts == nil {
		s.counts = map[uint8]int{}
		s.answers = map[uint32]int{}
	}
}

func (s *Server) format(copies uint8) {
	if copies == 0 {
		copies = 1
	}
	s.formatted = true
	s.nrCopies = copies
	s.ctime = uint64(time.Now().Unix()) << 32
	s.epoch = 1
}

// FailNext makes the next n requests with this opcode answer result without being executed
// (a fault hook: e.g. FailNext(OpNewVDI, ResNoSpace, 1)).
func (s *Server) FailNext(opcode uint8, result uint32, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[opcode] = &fault{result: result, left: n}
}

// Requests is how many requests with this opcode the simulator received (faulted ones
// included).
func (s *Server) Requests(opcode uint8) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[opcode]
}

// Answers is how many replies carried this result code (e.g. ResReadOnly: how often a
// client wrote to a snapshot's object and had to reload the inode).
func (s *Server) Answers(result uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers[result]
}

// VDIs lists every inode the simulator holds (working VDIs, snapshots, tombstones), by VID.
func (s *Server) VDIs() []VDI {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]VDI, 0, len(s.inodes))
	for vid, in := range s.inodes {
		m := make(map[uint32]uint32, len(in.data))
		for k, v := range in.data {
			m[k] = v
		}
		out = append(out, VDI{
			VID: vid, Name: in.name(), Tag: in.tag(), Size: in.u64(offVDISize),
			SnapID: in.snapID(), ParentVID: in.u32(offParentVDIID), Snapshot: in.isSnapshot(),
			Deleted: bitSet(s.deleted, vid), BlockSizeShift: in.hdr[offBlockSizeShift],
			NrCopies: in.hdr[offNrCopies], DataVDIIDs: m,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VID < out[j].VID })
	return out
}

// Objects lists the stored data objects whose VID is vid, by index.
func (s *Server) Objects(vid uint32) []Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Object
	for oid, data := range s.objects {
		if oidToVID(oid) != vid {
			continue
		}
		out = append(out, Object{Oid: oid, VID: vid, Idx: dataIdx(oid), Data: append([]byte(nil), data...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Idx < out[j].Idx })
	return out
}

// ReadVDI reads length bytes at offset of the VDI with this VID the way a client does:
// through data_vdi_id, so inherited (ancestor) objects are read, and unallocated areas are
// zeros.
func (s *Server) ReadVDI(vid uint32, offset uint64, length int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.inodes[vid]
	if in == nil {
		return nil, fmt.Errorf("sheep simulator: no inode for vid %x", vid)
	}
	out := make([]byte, length)
	osz := uint64(in.objectSize())
	for done := 0; done < length; {
		pos := offset + uint64(done)
		idx, off := uint32(pos/osz), pos%osz
		n := int(min(osz-off, uint64(length-done)))
		if owner := in.data[idx]; owner != 0 {
			if obj := s.objects[DataOid(owner, idx)]; obj != nil {
				copy(out[done:done+n], obj[off:])
			}
		}
		done += n
	}
	return out, nil
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

func (s *Server) serve(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.netMu.Lock()
		if s.closed {
			s.netMu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.netMu.Unlock()
		go s.handleConn(c)
	}
}

func (s *Server) handleConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.netMu.Lock()
		delete(s.conns, c)
		s.netMu.Unlock()
		c.Close()
	}()
	hdr := make([]byte, HeaderSize)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			if !errors.Is(err, io.EOF) {
				s.logf("sheep simulator: read request header: %v", err)
			}
			return
		}
		req, err := decodeRequest(hdr)
		if err != nil {
			s.logf("%v", err)
			return
		}
		if req.flags&FlagCmdWrite != 0 && req.dataLength > 0 {
			if req.dataLength > 64<<20 {
				s.logf("sheep simulator: request payload of %d bytes refused", req.dataLength)
				return
			}
			req.payload = make([]byte, req.dataLength)
			if _, err := io.ReadFull(c, req.payload); err != nil {
				s.logf("sheep simulator: read request payload: %v", err)
				return
			}
		}
		rsp, epoch := s.dispatch(req)
		if _, err := c.Write(rsp.bytes(req, epoch)); err != nil {
			s.logf("sheep simulator: write response: %v", err)
			return
		}
	}
}

func bitSet(bm []byte, i uint32) bool { return bm[i/8]&(1<<(i%8)) != 0 }
func setBit(bm []byte, i uint32)      { bm[i/8] |= 1 << (i % 8) }

// nextZero is find_next_zero_bit over the VID bitmap from start.
func nextZero(bm []byte, start uint32) uint32 {
	for i := start; i < NrVDIs; i++ {
		if bm[i/8] == 0xff {
			i |= 7
			continue
		}
		if !bitSet(bm, i) {
			return i
		}
	}
	return NrVDIs
}
