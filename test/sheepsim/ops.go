package sheepsim

import (
	"encoding/binary"
	"time"
)

// forced opcodes run while the cluster waits for a format (".force = true" in sheep/ops.c).
var forced = map[uint8]bool{
	OpReadVDIs: true, OpReadDelVDIs: true, OpGetNodeList: true, OpMakeFS: true,
	OpStatCluster: true, OpClusterInfo: true,
}

// known opcodes of a real sheep that the simulator implements.
var known = map[uint8]bool{
	OpCreateAndWriteObj: true, OpReadObj: true, OpWriteObj: true, OpDiscardObj: true,
	OpNewVDI: true, OpLockVDI: true, OpReleaseVDI: true, OpGetVDIInfo: true, OpReadVDIs: true,
	OpFlushVDI: true, OpDelVDI: true, OpMakeFS: true, OpStatSheep: true, OpStatCluster: true,
	OpClusterInfo: true, OpReadDelVDIs: true,
}

// dispatch runs one request under the lock, in the order sheep's queue_request checks it:
// protocol version, opcode, cluster status, then the operation.
func (s *Server) dispatch(req *request) (*response, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rsp, epoch := s.run(req)
	s.answers[rsp.result()]++
	return rsp, epoch
}

func (s *Server) run(req *request) (*response, uint32) {
	rsp := &response{}
	s.counts[req.opcode]++
	if f := s.faults[req.opcode]; f != nil && f.left > 0 {
		f.left--
		rsp.setResult(f.result)
		return rsp, s.epoch
	}
	if req.opcode >= 0x80 {
		if req.protoVer != SheepProtoVer {
			rsp.setResult(ResVerMismatch)
			return rsp, s.epoch
		}
	} else if req.protoVer > ProtoVer {
		rsp.setResult(ResVerMismatch)
		return rsp, s.epoch
	}
	if !known[req.opcode] {
		s.logf("invalid opcode %d (or not simulated)", req.opcode)
		rsp.setResult(ResInvalidParms)
		return rsp, s.epoch
	}
	if !s.formatted && !forced[req.opcode] {
		rsp.setResult(ResWaitForFormat)
		return rsp, s.epoch
	}
	var res uint32
	switch req.opcode {
	case OpCreateAndWriteObj:
		res = s.createAndWriteObj(req)
	case OpReadObj:
		res = s.readObj(req, rsp)
	case OpWriteObj:
		res = s.writeObj(req)
	case OpDiscardObj:
		res = s.discardObj(req)
	case OpNewVDI:
		res = s.newVDI(req, rsp)
	case OpLockVDI, OpGetVDIInfo:
		// "vdi lock is disabled" (the default): LOCK_VDI is a lookup.
		res = s.getVDIInfo(req, rsp)
	case OpReleaseVDI:
		res = ResSuccess
	case OpReadVDIs:
		res = s.readBitmap(req, rsp, s.inuse)
	case OpReadDelVDIs:
		res = s.readBitmap(req, rsp, s.deleted)
	case OpFlushVDI:
		// local_flush_vdi without object cache; tgt treats this as success.
		res = ResInvalidParms
	case OpDelVDI:
		res = s.delVDI(req, rsp)
	case OpMakeFS:
		s.wipe()
		s.format(req.u8(32))
		res = ResSuccess
	case OpStatSheep:
		used := uint64(0)
		for _, o := range s.objects {
			used += uint64(len(o))
		}
		rsp.put64(32, s.opts.StoreSize)
		rsp.put64(40, s.opts.StoreSize-min(used, s.opts.StoreSize))
		res = ResSuccess
	case OpStatCluster:
		res = s.statCluster(req, rsp)
	case OpClusterInfo:
		res = s.clusterInfo(req, rsp)
	}
	rsp.setResult(res)
	return rsp, s.epoch
}

// lookup is vdi_lookup without VID recycling: it scans the VIDs from the name's hash to the
// first free bit, newest first. It answers the VID, the snap_id a new VDI of this name gets,
// and the free VID a create would take.
func (s *Server) lookup(name, tag string, snapid uint32) (vid, nextSnap, free uint32, res uint32) {
	left := HashVDI(name)
	if left == 0 {
		left = 1
	}
	right := nextZero(s.inuse, left)
	if left == right {
		return 0, 0, right, ResNoVDI
	}
	if right == NrVDIs {
		right = nextZero(s.inuse, 1)
		if right == NrVDIs {
			return 0, 0, 0, ResFullVDI
		}
	}
	free = right
	scan := func(l, r uint32) uint32 {
		found := false
		for i := r - 1; i >= l && i > 0; i-- {
			if !bitSet(s.inuse, i) && !bitSet(s.deleted, i) {
				continue
			}
			in := s.inodes[i]
			if in == nil || in.name() != name {
				continue
			}
			if tag != "" || snapid != 0 {
				if !in.isSnapshot() {
					found = true
					vid = i
					continue
				}
				if !((in.tag() != "" && in.tag() == tag) || snapid == in.snapID()) {
					continue
				}
			} else {
				nextSnap = in.snapID() + 1
				if in.isSnapshot() {
					vid = i // the working VDI was deleted; a create starts a new one
					return ResNoVDI
				}
			}
			vid = i
			return ResSuccess
		}
		if found {
			return ResNoTag
		}
		return ResNoVDI
	}
	if left < right {
		return vid, nextSnap, free, scan(left, right)
	}
	res = ResNoVDI
	if right > 1 {
		res = scan(1, right)
	}
	if res == ResNoVDI || res == ResNoTag {
		res = scan(left, NrVDIs)
	}
	return vid, nextSnap, free, res
}

// nameTag splits a NEW/GET/DEL payload: name[256] and, when 512 bytes long, tag[256].
func nameTag(p []byte) (name, tag string, ok bool) {
	switch len(p) {
	case MaxVDILen:
		return vdiName(p), "", true
	case MaxVDILen + MaxTagLen:
		return vdiName(p[:MaxVDILen]), cString(p[MaxVDILen:]), true
	}
	return "", "", false
}

// vdiName reads a name field. A sheep keeps at most 255 bytes (pstrcpy into name[256]); a
// 256-byte name without NUL is undefined in sheep (strlen runs past the field), so the
// simulator cuts it to 255 bytes everywhere (create, lookup, delete) to stay consistent.
func vdiName(p []byte) string {
	n := cString(p)
	if len(n) > MaxVDILen-1 {
		n = n[:MaxVDILen-1]
	}
	return n
}

func (s *Server) getVDIInfo(req *request, rsp *response) uint32 {
	name, tag, ok := nameTag(req.payload)
	if !ok {
		return ResInvalidParms
	}
	vid, _, _, res := s.lookup(name, tag, req.snapID())
	if res != ResSuccess {
		return res
	}
	in := s.inodes[vid]
	rsp.put32(24, vid)
	rsp.raw[32] = in.hdr[offNrCopies]
	rsp.raw[33] = in.hdr[offBlockSizeShift]
	return ResSuccess
}

func (s *Server) newVDI(req *request, rsp *response) uint32 {
	if len(req.payload) != MaxVDILen {
		return ResInvalidParms
	}
	if req.storePolicy() != 0 {
		s.logf("sheep simulator: hyper volumes (store_policy %d, B-tree inodes) are not simulated", req.storePolicy())
		return ResInvalidParms
	}
	name := vdiName(req.payload)
	copies := req.copies()
	if copies == 0 {
		copies = s.nrCopies
	}
	shift := req.blockSizeShift()
	if shift == 0 {
		shift = DefaultBlockSizeShift
	}
	rsp.raw[32] = copies
	rsp.raw[33] = shift
	now := uint64(time.Now().Unix())<<32 | uint64(time.Now().Nanosecond())
	base := req.baseVDIID()

	vid, nextSnap, free, res := s.lookup(name, "", 0)
	if req.snapID() != 0 {
		// vdi_snapshot: the working VDI must exist; it becomes the snapshot.
		if res != ResSuccess {
			return res
		}
		rsp.put32(24, free)
		baseIn := s.inodes[base]
		if baseIn == nil {
			return ResBaseVDIRead
		}
		if base == vid {
			binary.LittleEndian.PutUint64(baseIn.hdr[offSnapCtime:], now)
		} else {
			// rebase: the current working VDI becomes a snapshot, the new one is based on base.
			binary.LittleEndian.PutUint64(s.inodes[vid].hdr[offSnapCtime:], now)
		}
		s.inodes[vid].snapshot = true
		s.addInode(free, name, req.vdiSize(), copies, shift, nextSnap, base, now, baseIn)
		return ResSuccess
	}
	// vdi_create: fresh (base 0) or clone (base = a snapshot's VID).
	switch res {
	case ResSuccess:
		rsp.put32(24, free)
		return ResVDIExist
	case ResNoVDI:
	default:
		return res
	}
	if nextSnap == 0 {
		nextSnap = 1
	}
	rsp.put32(24, free)
	if base == 0 {
		if vid != 0 {
			if old := s.inodes[vid]; old != nil {
				old.snapshot = true
			}
		}
		s.addInode(free, name, req.vdiSize(), copies, shift, nextSnap, 0, now, nil)
		return ResSuccess
	}
	baseIn := s.inodes[base]
	if baseIn == nil {
		return ResBaseVDIRead
	}
	baseIn.snapshot = true
	s.addInode(free, name, req.vdiSize(), copies, shift, nextSnap, base, now, baseIn)
	return ResSuccess
}

func (s *Server) addInode(vid uint32, name string, size uint64, copies, shift uint8, snapID, parent uint32, now uint64, from *inode) {
	in := &inode{data: map[uint32]uint32{}}
	copy(in.hdr[offName:offName+MaxVDILen-1], name)
	binary.LittleEndian.PutUint64(in.hdr[offCreateTime:], now)
	binary.LittleEndian.PutUint64(in.hdr[offVDISize:], size)
	in.hdr[offNrCopies] = copies
	in.hdr[offBlockSizeShift] = shift
	binary.LittleEndian.PutUint32(in.hdr[offSnapID:], snapID)
	binary.LittleEndian.PutUint32(in.hdr[offVDIID:], vid)
	binary.LittleEndian.PutUint32(in.hdr[offParentVDIID:], parent)
	if from != nil {
		for k, v := range from.data {
			in.data[k] = v
		}
	}
	s.inodes[vid] = in
	setBit(s.inuse, vid)
}

func (s *Server) delVDI(req *request, rsp *response) uint32 {
	name, tag, ok := nameTag(req.payload)
	if !ok {
		return ResInvalidParms
	}
	vid, _, _, res := s.lookup(name, tag, req.snapID())
	if res != ResSuccess {
		return res
	}
	rsp.put32(24, vid)
	in := s.inodes[vid]
	// delete_vdi_work: a flat inode that still references objects is left as it is (the
	// name stays, so it can still be found); only a log line tells. The request succeeds.
	if len(in.data) > 0 {
		for _, owner := range in.data {
			s.logf("vid: %x still has objects", owner)
			break
		}
		s.logf("deleting vdi: %x failed", vid)
	} else {
		binary.LittleEndian.PutUint64(in.hdr[offVDISize:], 0)
		clear(in.hdr[offName : offName+MaxVDILen])
	}
	setBit(s.deleted, vid)
	return ResSuccess
}

func (s *Server) readBitmap(req *request, rsp *response, bm []byte) uint32 {
	if req.dataLength != BitmapSize {
		return ResInvalidParms
	}
	rsp.data = append([]byte(nil), bm...)
	return ResSuccess
}

// statCluster answers epoch logs (struct epoch_log, 48 bytes, no node entries) and the status.
func (s *Server) statCluster(req *request, rsp *response) uint32 {
	if !s.formatted {
		return ResWaitForFormat
	}
	if req.dataLength >= 48 && req.clusterNodesNr() == 0 {
		e := make([]byte, 48)
		binary.LittleEndian.PutUint64(e[0:], s.ctime)
		binary.LittleEndian.PutUint64(e[8:], s.ctime>>32)
		binary.LittleEndian.PutUint32(e[16:], s.epoch)
		e[25] = s.nrCopies
		copy(e[32:], "plain")
		rsp.data = e
	}
	return ResSuccess
}

// clusterInfo answers the head of struct cluster_info (status 1 = OK, 2 = WAIT).
func (s *Server) clusterInfo(req *request, rsp *response) uint32 {
	ci := make([]byte, 48)
	ci[0] = SheepProtoVer
	binary.LittleEndian.PutUint16(ci[2:], 1)
	if s.formatted {
		binary.LittleEndian.PutUint32(ci[4:], s.epoch)
		binary.LittleEndian.PutUint64(ci[8:], s.ctime)
		ci[18] = s.nrCopies
		ci[20] = 1
		ci[21] = DefaultBlockSizeShift
		copy(ci[25:], "plain")
	} else {
		ci[20] = 2
	}
	if int(req.dataLength) < len(ci) {
		return ResBufferSmall
	}
	rsp.data = ci
	return ResSuccess
}

// objectOwner is the inode that decides whether a data object is read-only.
func (s *Server) readOnly(oid uint64) bool {
	if isVDIOid(oid) {
		return false // "we allow changing snapshot attributes"
	}
	in := s.inodes[oidToVID(oid)]
	return in != nil && in.snapshot
}

func (s *Server) objectSize(oid uint64) (uint32, bool) {
	in := s.inodes[oidToVID(oid)]
	if in == nil {
		return 1 << DefaultBlockSizeShift, false
	}
	return in.objectSize(), true
}

func (s *Server) readObj(req *request, rsp *response) uint32 {
	oid, off, n := req.oid(), uint64(req.objOffset()), uint64(req.dataLength)
	if isVDIOid(oid) {
		in := s.inodes[oidToVID(oid)]
		if in == nil {
			return ResNoObj
		}
		if off+n > InodeSize {
			return ResInvalidParms
		}
		rsp.data = in.read(off, n)
		return ResSuccess
	}
	obj := s.objects[oid]
	if obj == nil {
		return ResNoObj
	}
	if off+n > uint64(len(obj)) {
		return ResInvalidParms
	}
	rsp.data = append([]byte(nil), obj[off:off+n]...)
	return ResSuccess
}

// read assembles inode bytes [off, off+n) from the header and the sparse data_vdi_id; the
// gref area reads as zeros.
func (in *inode) read(off, n uint64) []byte {
	out := make([]byte, n)
	if off < InodeHeaderSize {
		copy(out, in.hdr[off:])
	}
	lo := max(off, InodeHeaderSize)
	hi := min(off+n, InodeHeaderSize+4*DataIndexEntries)
	if lo >= hi {
		return out
	}
	first, last := uint32((lo-InodeHeaderSize)/4), uint32((hi-InodeHeaderSize-1)/4)
	var e [4]byte
	put := func(idx, vid uint32) {
		binary.LittleEndian.PutUint32(e[:], vid)
		start := uint64(InodeHeaderSize) + 4*uint64(idx)
		for k := uint64(0); k < 4; k++ {
			if p := start + k; p >= off && p < off+n {
				out[p-off] = e[k]
			}
		}
	}
	if int(last-first) < len(in.data) {
		for idx := first; idx <= last; idx++ {
			if vid := in.data[idx]; vid != 0 {
				put(idx, vid)
			}
		}
	} else {
		for idx, vid := range in.data {
			if idx >= first && idx <= last {
				put(idx, vid)
			}
		}
	}
	return out
}

// writeInode applies a WRITE_OBJ to an inode: header bytes, data_vdi_id entries (dropping
// references, which frees objects nobody references any more), gref bytes ignored.
func (s *Server) writeInode(vid uint32, in *inode, off uint64, p []byte) uint32 {
	if off+uint64(len(p)) > InodeSize {
		return ResInvalidParms
	}
	for i := range p {
		pos := off + uint64(i)
		if pos < InodeHeaderSize {
			in.hdr[pos] = p[i]
		}
	}
	lo := max(off, InodeHeaderSize)
	hi := min(off+uint64(len(p)), InodeHeaderSize+4*DataIndexEntries)
	if lo >= hi {
		return ResSuccess
	}
	// Partial entries are merged with the current value.
	first, last := uint32((lo-InodeHeaderSize)/4), uint32((hi-InodeHeaderSize-1)/4)
	for idx := first; idx <= last; idx++ {
		var e [4]byte
		binary.LittleEndian.PutUint32(e[:], in.data[idx])
		start := uint64(InodeHeaderSize) + 4*uint64(idx)
		for k := uint64(0); k < 4; k++ {
			if q := start + k; q >= off && q < off+uint64(len(p)) {
				e[k] = p[q-off]
			}
		}
		old, nv := in.data[idx], binary.LittleEndian.Uint32(e[:])
		if nv == 0 {
			delete(in.data, idx)
		} else {
			in.data[idx] = nv
		}
		if old != 0 && old != nv {
			s.decref(old, idx)
		}
	}
	return ResSuccess
}

// decref drops the object (vid, idx) once no inode's data_vdi_id refers to it any more
// (sheep's generational reference counting, counted directly).
func (s *Server) decref(vid, idx uint32) {
	for _, in := range s.inodes {
		if in.data[idx] == vid {
			return
		}
	}
	delete(s.objects, DataOid(vid, idx))
}

func (s *Server) writeObj(req *request) uint32 {
	oid, off := req.oid(), uint64(req.objOffset())
	if isVDIOid(oid) {
		in := s.inodes[oidToVID(oid)]
		if in == nil {
			return ResNoObj
		}
		return s.writeInode(oidToVID(oid), in, off, req.payload)
	}
	if s.readOnly(oid) {
		return ResReadOnly
	}
	obj := s.objects[oid]
	if obj == nil {
		return ResNoObj
	}
	if off+uint64(len(req.payload)) > uint64(len(obj)) {
		return ResInvalidParms
	}
	copy(obj[off:], req.payload)
	return ResSuccess
}

func (s *Server) createAndWriteObj(req *request) uint32 {
	oid, off := req.oid(), uint64(req.objOffset())
	if isVDIOid(oid) {
		s.logf("sheep simulator: CREATE_AND_WRITE_OBJ of an inode object is not simulated")
		return ResInvalidParms
	}
	if s.readOnly(oid) {
		return ResReadOnly
	}
	size, ok := s.objectSize(oid)
	if !ok {
		return ResNoVDI
	}
	if dataIdx(oid) >= DataIndexEntries {
		return ResInvalidParms
	}
	if off+uint64(len(req.payload)) > uint64(size) {
		return ResInvalidParms
	}
	buf := make([]byte, size)
	if req.flags&FlagCmdCOW != 0 && len(req.payload) != int(size) {
		// gateway_handle_cow: a partial write reads the ancestor's object first.
		src := s.objects[req.cowOid()]
		if src == nil {
			return ResNoObj
		}
		copy(buf, src)
	}
	copy(buf[off:], req.payload)
	s.objects[oid] = buf
	return ResSuccess
}

// discardObj is local_discard_obj: zero data_vdi_id[idx] in the oid's own inode and remove the
// object.
func (s *Server) discardObj(req *request) uint32 {
	oid := req.oid()
	vid, idx := oidToVID(oid), dataIdx(oid)
	in := s.inodes[vid]
	if in == nil {
		return ResNoObj
	}
	if old := in.data[idx]; old != 0 {
		delete(in.data, idx)
		s.decref(old, idx)
		delete(s.objects, oid)
	}
	return ResSuccess
}
