// Package sheepsim is a protocol-level SHEEP SIMULATOR for tests: a TEST STAND-IN for a
// Sheepdog sheep daemon (Debian ships none), serving the sheep wire protocol on 127.0.0.1.
//
// It follows the behaviour recorded from a real sheep in ../shared/reference/sheepdog.md and
// sheepdog's sources (sheep/ops.c, sheep/vdi.c, sheep/gateway.c at 3ebe5ea7): VID allocation by
// the FNV-1a hash of the name with linear probing in the in-use bitmap, snapshots that turn the
// working VID into the snapshot and answer a new working VID, clones sharing their ancestors'
// objects copy-on-write, SD_RES_READONLY for writes to a snapshot's data objects, deletion that
// frees objects only after the client zeroed the data_vdi_id references, "waiting for format"
// until MAKE_FS, and the proto_ver rules. Debian's tgtd (bs_sheepdog) works against it.
// Everything lives in memory: only written data objects are stored, and an inode is kept as its
// 4664-byte header plus a sparse data_vdi_id map.
package sheepsim

import (
	"encoding/binary"
	"fmt"
)

// Opcodes (include/sheepdog_proto.h, include/internal_proto.h).
const (
	OpCreateAndWriteObj = 0x01
	OpReadObj           = 0x02
	OpWriteObj          = 0x03
	OpRemoveObj         = 0x04
	OpDiscardObj        = 0x05
	OpNewVDI            = 0x11
	OpLockVDI           = 0x12
	OpReleaseVDI        = 0x13
	OpGetVDIInfo        = 0x14
	OpReadVDIs          = 0x15
	OpFlushVDI          = 0x16
	OpDelVDI            = 0x17
	OpGetNodeList       = 0x82
	OpMakeFS            = 0x84
	OpStatSheep         = 0x86
	OpStatCluster       = 0x87
	OpClusterInfo       = 0xBE
	OpReadDelVDIs       = 0xC9
)

// Request flags.
const (
	FlagCmdWrite  = 0x01
	FlagCmdCOW    = 0x02
	FlagCmdCache  = 0x04
	FlagCmdDirect = 0x08
	FlagCmdTGT    = 0x20
)

// Result codes a sheep answers (SD_RES_*).
const (
	ResSuccess       = 0x00
	ResUnknown       = 0x01
	ResNoObj         = 0x02
	ResEIO           = 0x03
	ResVDIExist      = 0x04
	ResInvalidParms  = 0x05
	ResSystemError   = 0x06
	ResNoVDI         = 0x08
	ResNoBaseVDI     = 0x09
	ResVDIRead       = 0x0A
	ResVDIWrite      = 0x0B
	ResBaseVDIRead   = 0x0C
	ResBaseVDIWrite  = 0x0D
	ResNoTag         = 0x0E
	ResVDINotLocked  = 0x10
	ResFullVDI       = 0x13
	ResVerMismatch   = 0x14
	ResNoSpace       = 0x15
	ResWaitForFormat = 0x16
	ResWaitForJoin   = 0x17
	ResReadOnly      = 0x1A
	ResInodeInvalid  = 0x1D
	ResBufferSmall   = 0x88
	ResNoStore       = 0x8A
)

// Protocol versions: public opcodes accept 0 up to ProtoVer; internal ones (≥ 0x80) need
// exactly SheepProtoVer.
const (
	ProtoVer      = 0x02
	SheepProtoVer = 0x0a
)

// Layout constants of the flat (non-hyper) inode and of VIDs.
const (
	HeaderSize       = 48
	MaxVDILen        = 256
	MaxTagLen        = 256
	NrVDIs           = 1 << 24
	BitmapSize       = NrVDIs / 8 // 2 MiB, the READ_VDIS answer
	InodeHeaderSize  = 4664
	DataIndexEntries = 1 << 20
	// InodeSize is the whole inode object: header, data_vdi_id[2^20] u32, gref[2^20] (8 bytes).
	InodeSize             = InodeHeaderSize + 4*DataIndexEntries + 8*DataIndexEntries
	DefaultBlockSizeShift = 22
	vdiBit                = uint64(1) << 63
	vdiSpaceShift         = 32
)

// Offsets in the inode header.
const (
	offName           = 0
	offTag            = 256
	offCreateTime     = 512
	offSnapCtime      = 520
	offVDISize        = 536
	offCopyPolicy     = 552
	offStorePolicy    = 553
	offNrCopies       = 554
	offBlockSizeShift = 555
	offSnapID         = 556
	offVDIID          = 560
	offParentVDIID    = 564
)

// VDIOid is the inode object id of vid.
func VDIOid(vid uint32) uint64 { return vdiBit | uint64(vid)<<vdiSpaceShift }

// DataOid is the id of data object idx of vid.
func DataOid(vid, idx uint32) uint64 { return uint64(vid)<<vdiSpaceShift | uint64(idx) }

func oidToVID(oid uint64) uint32 { return uint32(oid>>vdiSpaceShift) & (NrVDIs - 1) }
func isVDIOid(oid uint64) bool   { return oid&vdiBit != 0 }
func dataIdx(oid uint64) uint32  { return uint32(oid & (1<<32 - 1)) }

// HashVDI is sd_hash_vdi: FNV-1a 64 of the name, masked to 24 bits (the first VID tried).
func HashVDI(name string) uint32 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 0x100000001b3
	}
	return uint32(h & (NrVDIs - 1))
}

// request is a decoded 48-byte sd_req.
type request struct {
	raw        [HeaderSize]byte
	protoVer   uint8
	opcode     uint8
	flags      uint16
	epoch      uint32
	id         uint32
	dataLength uint32
	payload    []byte
}

func (r *request) u8(off int) uint8   { return r.raw[off] }
func (r *request) u32(off int) uint32 { return binary.LittleEndian.Uint32(r.raw[off:]) }
func (r *request) u64(off int) uint64 { return binary.LittleEndian.Uint64(r.raw[off:]) }

// Object request fields.
func (r *request) oid() uint64       { return r.u64(16) }
func (r *request) cowOid() uint64    { return r.u64(24) }
func (r *request) objOffset() uint32 { return r.u32(40) }

// VDI request fields.
func (r *request) vdiSize() uint64        { return r.u64(16) }
func (r *request) baseVDIID() uint32      { return r.u32(24) }
func (r *request) copies() uint8          { return r.u8(28) }
func (r *request) copyPolicy() uint8      { return r.u8(29) }
func (r *request) storePolicy() uint8     { return r.u8(30) }
func (r *request) blockSizeShift() uint8  { return r.u8(31) }
func (r *request) snapID() uint32         { return r.u32(32) }
func (r *request) clusterNodesNr() uint32 { return r.u32(36) }

func decodeRequest(hdr []byte) (*request, error) {
	if len(hdr) != HeaderSize {
		return nil, fmt.Errorf("sheepsim: request header of %d bytes, want %d", len(hdr), HeaderSize)
	}
	r := &request{}
	copy(r.raw[:], hdr)
	r.protoVer = hdr[0]
	r.opcode = hdr[1]
	r.flags = binary.LittleEndian.Uint16(hdr[2:])
	r.epoch = binary.LittleEndian.Uint32(hdr[4:])
	r.id = binary.LittleEndian.Uint32(hdr[8:])
	r.dataLength = binary.LittleEndian.Uint32(hdr[12:])
	return r, nil
}

// response is an sd_rsp under construction.
type response struct {
	raw  [HeaderSize]byte
	data []byte
}

func (p *response) setResult(res uint32) { binary.LittleEndian.PutUint32(p.raw[16:], res) }
func (p *response) result() uint32       { return binary.LittleEndian.Uint32(p.raw[16:]) }
func (p *response) put32(off int, v uint32) {
	binary.LittleEndian.PutUint32(p.raw[off:], v)
}
func (p *response) put64(off int, v uint64) {
	binary.LittleEndian.PutUint64(p.raw[off:], v)
}

func (p *response) bytes(req *request, epoch uint32) []byte {
	p.raw[0] = req.protoVer
	p.raw[1] = req.opcode
	binary.LittleEndian.PutUint16(p.raw[2:], req.flags)
	binary.LittleEndian.PutUint32(p.raw[4:], epoch)
	binary.LittleEndian.PutUint32(p.raw[8:], req.id)
	binary.LittleEndian.PutUint32(p.raw[12:], uint32(len(p.data)))
	out := make([]byte, 0, HeaderSize+len(p.data))
	out = append(out, p.raw[:]...)
	return append(out, p.data...)
}

// cString reads a NUL-terminated string from a fixed-size field.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
