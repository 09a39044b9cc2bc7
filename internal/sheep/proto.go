package sheep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// Protocol versions. Public opcodes (< 0x80) go out with ProtoVer; sheep
// answers SD_RES_VER_MISMATCH to an internal opcode (>= 0x80) unless it
// carries SheepProtoVer.
const (
	ProtoVer      uint8 = 0x02
	SheepProtoVer uint8 = 0x0a
)

// Opcodes used by this client (public ones < 0x80, internal ones >= 0x80).
const (
	OpCreateAndWriteObj uint8 = 0x01
	OpReadObj           uint8 = 0x02
	OpWriteObj          uint8 = 0x03
	OpNewVDI            uint8 = 0x11
	OpGetVDIInfo        uint8 = 0x14
	OpReadVDIs          uint8 = 0x15
	OpDelVDI            uint8 = 0x17
	OpStatSheep         uint8 = 0x86
	OpStatCluster       uint8 = 0x87
	OpReadDelVDIs       uint8 = 0xC9
)

// Request flags.
const (
	FlagCmdWrite  uint16 = 0x01
	FlagCmdCOW    uint16 = 0x02
	FlagCmdDirect uint16 = 0x08
)

// Sizes and limits of the protocol and of the inode object.
const (
	HeaderSize      = 48      // struct sd_req and struct sd_rsp
	MaxNameLen      = 255     // SD_MAX_VDI_LEN (256) minus the NUL
	MaxTagLen       = 255     // SD_MAX_VDI_TAG_LEN (256) minus the NUL
	nameField       = 256     // bytes of a name on the wire and in the inode
	tagField        = 256     // bytes of a tag on the wire and in the inode
	InodeHeaderSize = 4664    // offsetof(struct sd_inode, data_vdi_id)
	NrVDIs          = 1 << 24 // SD_NR_VDIS: VIDs are 24 bits
	VDIBitmapSize   = NrVDIs / 8
	// MaxDataObjs is the number of data_vdi_id entries of a (non-hyper) inode.
	MaxDataObjs = 1 << 20
	// DefaultBlockSizeShift gives 4 MiB objects.
	DefaultBlockSizeShift = 22
	// MaxVDISize is the largest non-hyper VDI with 4 MiB objects: 4 TiB.
	MaxVDISize uint64 = MaxDataObjs << DefaultBlockSizeShift
	// MaxHyperVDISize is the largest hyper volume with 4 MiB objects (16 PiB).
	MaxHyperVDISize uint64 = 1 << 54

	// StorePolicyHyper marks a hyper volume (B-tree inode) in store_policy.
	StorePolicyHyper uint8 = 1
)

// Inode field offsets (struct sd_inode).
const (
	inodeOffName          = 0
	inodeOffTag           = 256
	inodeOffCreateTime    = 512
	inodeOffSnapCtime     = 520
	inodeOffVDISize       = 536
	inodeOffCopyPolicy    = 552
	inodeOffStorePolicy   = 553
	inodeOffNrCopies      = 554
	inodeOffBlockShift    = 555
	inodeOffSnapID        = 556
	inodeOffVDIID         = 560
	inodeOffParentVDIID   = 564
	inodeOffDataVDIID     = InodeHeaderSize
	inodeDataVDIEntrySize = 4
)

// VDIOid is the object id of a VDI's inode: 1<<63 | vid<<32.
func VDIOid(vid uint32) uint64 { return 1<<63 | uint64(vid)<<32 }

// DataOid is the object id of data object idx of a VDI: vid<<32 | idx.
func DataOid(vid uint32, idx uint32) uint64 { return uint64(vid)<<32 | uint64(idx) }

// Request is struct sd_req. Which of the body fields are meaningful depends
// on the opcode: VDI operations use the Vdi* fields (bytes 16–39), object
// operations the Obj* fields (bytes 16–43). Both views share the bytes, so a
// Request must set fields of one view only; EncodeRequest refuses a mix.
type Request struct {
	ProtoVer   uint8
	Opcode     uint8
	Flags      uint16
	Epoch      uint32
	ID         uint32
	DataLength uint32

	// VDI view.
	VDISize        uint64 // @16
	BaseVDIID      uint32 // @24
	Copies         uint8  // @28 (0 = cluster default)
	CopyPolicy     uint8  // @29
	StorePolicy    uint8  // @30 (1 = hyper)
	BlockSizeShift uint8  // @31 (0 = default)
	SnapID         uint32 // @32
	Type           uint32 // @36

	// Object view.
	Oid       uint64 // @16
	CowOid    uint64 // @24
	ObjCopies uint8  // @32
	ObjPolicy uint8  // @33
	ECIndex   uint8  // @34
	TgtEpoch  uint32 // @36
	Offset    uint32 // @40
}

func (r *Request) usesVDIView() bool {
	return r.VDISize != 0 || r.BaseVDIID != 0 || r.Copies != 0 || r.CopyPolicy != 0 ||
		r.StorePolicy != 0 || r.BlockSizeShift != 0 || r.SnapID != 0 || r.Type != 0
}

func (r *Request) usesObjView() bool {
	return r.Oid != 0 || r.CowOid != 0 || r.ObjCopies != 0 || r.ObjPolicy != 0 ||
		r.ECIndex != 0 || r.TgtEpoch != 0 || r.Offset != 0
}

// EncodeRequest writes r into b (at least HeaderSize bytes) in sheep's
// little-endian layout. It fails when r sets fields of both body views.
func EncodeRequest(b []byte, r *Request) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("encode request: buffer of %d bytes, need %d", len(b), HeaderSize)
	}
	if r.usesVDIView() && r.usesObjView() {
		return fmt.Errorf("encode request: opcode %#02x sets both VDI and object fields", r.Opcode)
	}
	b = b[:HeaderSize]
	clear(b)
	le := binary.LittleEndian
	b[0] = r.ProtoVer
	b[1] = r.Opcode
	le.PutUint16(b[2:], r.Flags)
	le.PutUint32(b[4:], r.Epoch)
	le.PutUint32(b[8:], r.ID)
	le.PutUint32(b[12:], r.DataLength)
	if r.usesObjView() {
		le.PutUint64(b[16:], r.Oid)
		le.PutUint64(b[24:], r.CowOid)
		b[32] = r.ObjCopies
		b[33] = r.ObjPolicy
		b[34] = r.ECIndex
		le.PutUint32(b[36:], r.TgtEpoch)
		le.PutUint32(b[40:], r.Offset)
		return nil
	}
	le.PutUint64(b[16:], r.VDISize)
	le.PutUint32(b[24:], r.BaseVDIID)
	b[28] = r.Copies
	b[29] = r.CopyPolicy
	b[30] = r.StorePolicy
	b[31] = r.BlockSizeShift
	le.PutUint32(b[32:], r.SnapID)
	le.PutUint32(b[36:], r.Type)
	return nil
}

// Reply is struct sd_rsp, with the views this client reads.
type Reply struct {
	ProtoVer   uint8
	Opcode     uint8
	Flags      uint16
	Epoch      uint32
	ID         uint32
	DataLength uint32
	Result     uint32 // @16

	// VDI view.
	VDIID  uint32 // @24
	AttrID uint32 // @28
	Copies uint8  // @32

	// Node view (STAT_SHEEP).
	StoreSize uint64 // @32
	StoreFree uint64 // @40
}

// DecodeReply reads a reply header from b, which must hold HeaderSize bytes
// exactly: a short header is an error, never a zero result.
func DecodeReply(b []byte) (Reply, error) {
	if len(b) != HeaderSize {
		return Reply{}, fmt.Errorf("%w: reply header of %d bytes, want %d", ErrProtocol, len(b), HeaderSize)
	}
	le := binary.LittleEndian
	return Reply{
		ProtoVer:   b[0],
		Opcode:     b[1],
		Flags:      le.Uint16(b[2:]),
		Epoch:      le.Uint32(b[4:]),
		ID:         le.Uint32(b[8:]),
		DataLength: le.Uint32(b[12:]),
		Result:     le.Uint32(b[16:]),
		VDIID:      le.Uint32(b[24:]),
		AttrID:     le.Uint32(b[28:]),
		Copies:     b[32],
		StoreSize:  le.Uint64(b[32:]),
		StoreFree:  le.Uint64(b[40:]),
	}, nil
}

// Inode is the header of a VDI's inode object (the first InodeHeaderSize
// bytes of struct sd_inode).
type Inode struct {
	Name, Tag      string
	CreateTime     uint64 // sec<<32 | nsec
	SnapCtime      uint64 // non-zero once the VDI became a snapshot
	VDISize        uint64
	CopyPolicy     uint8
	StorePolicy    uint8
	NrCopies       uint8
	BlockSizeShift uint8
	SnapID         uint32
	VDIID          uint32
	ParentVDIID    uint32
}

// DecodeInode reads an inode header. b must hold at least InodeHeaderSize
// bytes; name and tag are NUL-terminated in their 256-byte fields.
func DecodeInode(b []byte) (Inode, error) {
	if len(b) < InodeHeaderSize {
		return Inode{}, fmt.Errorf("%w: inode header of %d bytes, want %d", ErrProtocol, len(b), InodeHeaderSize)
	}
	le := binary.LittleEndian
	return Inode{
		Name:           cString(b[inodeOffName : inodeOffName+nameField]),
		Tag:            cString(b[inodeOffTag : inodeOffTag+tagField]),
		CreateTime:     le.Uint64(b[inodeOffCreateTime:]),
		SnapCtime:      le.Uint64(b[inodeOffSnapCtime:]),
		VDISize:        le.Uint64(b[inodeOffVDISize:]),
		CopyPolicy:     b[inodeOffCopyPolicy],
		StorePolicy:    b[inodeOffStorePolicy],
		NrCopies:       b[inodeOffNrCopies],
		BlockSizeShift: b[inodeOffBlockShift],
		SnapID:         le.Uint32(b[inodeOffSnapID:]),
		VDIID:          le.Uint32(b[inodeOffVDIID:]),
		ParentVDIID:    le.Uint32(b[inodeOffParentVDIID:]),
	}, nil
}

// ObjectSize is the data object size of the inode: 1<<block_size_shift,
// 4 MiB when the field is 0 (inodes written before the field existed).
func (in Inode) ObjectSize() uint64 {
	if in.BlockSizeShift == 0 {
		return 1 << DefaultBlockSizeShift
	}
	return 1 << in.BlockSizeShift
}

// VDI turns the inode header into the VDI a caller sees.
func (in Inode) VDI() VDI {
	return VDI{
		Name:           in.Name,
		Tag:            in.Tag,
		ID:             in.VDIID,
		SnapID:         in.SnapID,
		ParentID:       in.ParentVDIID,
		Size:           in.VDISize,
		Created:        time.Unix(int64(in.CreateTime>>32), int64(in.CreateTime&0xffffffff)),
		Copies:         in.NrCopies,
		BlockSizeShift: in.BlockSizeShift,
		Snapshot:       in.SnapCtime != 0 || in.Tag != "",
		Hyper:          in.StorePolicy == StorePolicyHyper,
	}
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// putName writes s NUL-padded into a field of n bytes.
func putName(dst []byte, s string) {
	clear(dst)
	copy(dst, s)
}
