package sheep

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VDI is a Sheepdog virtual disk image, a snapshot or a clone, as its inode
// header describes it.
type VDI struct {
	Name, Tag      string
	ID             uint32 // VID; it changes when the VDI is snapshotted
	SnapID         uint32 // per-name snapshot id (1, 2, 3…)
	ParentID       uint32 // base VID of a clone or of a working VDI after a snapshot
	Size           uint64
	Created        time.Time
	Copies         uint8
	BlockSizeShift uint8
	// Snapshot: the inode's snap_ctime is set (dog's vdi_is_snapshot), or it
	// carries a tag. A working VDI is never a snapshot.
	Snapshot bool
	// Hyper: a hyper volume (store_policy 1); its data index is a B-tree,
	// which this client does not read, so no data I/O, snapshot or delete.
	Hyper bool
}

// IsClone is dog's "c": a working VDI with snap_id 1 and a parent, made
// from a snapshot and not snapshotted since.
func (v VDI) IsClone() bool { return !v.Snapshot && v.ParentID != 0 && v.SnapID == 1 }

// Cluster is the cluster status as STAT_CLUSTER reports it.
type Cluster struct {
	// Result is the result code sheep answered: ResSuccess when running,
	// ResWaitForFmt, ResWaitForJoin or ResShutdown otherwise.
	Result uint32
	// Status reads like dog's "Cluster status:" line.
	Status string
}

// Running tells whether the cluster serves requests.
func (c Cluster) Running() bool { return c.Result == ResSuccess }

// Err is nil when running, else the *ResultError of the status (matching
// ErrWaitForFormat or ErrWaitForJoin with errors.Is).
func (c Cluster) Err() error { return resultErr("STAT_CLUSTER", c.Result) }

// checkName refuses what real sheep would silently change: names longer than
// 255 bytes are truncated by sheep, a NUL would cut the name short.
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidParms, what)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %s of %d bytes, sheep keeps at most %d", ErrInvalidParms, what, len(name), MaxNameLen)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalidParms, what)
	}
	return nil
}

// snapRef turns a caller's tag into what goes on the wire. As dog does, an
// all-digit tag is a snapshot id, not a tag ("-s 2" is snapshot 2).
func snapRef(tag string) (string, uint32, error) {
	if tag == "" {
		return "", 0, nil
	}
	if len(tag) > MaxTagLen {
		return "", 0, fmt.Errorf("%w: tag of %d bytes, sheep keeps at most %d", ErrInvalidParms, len(tag), MaxTagLen)
	}
	if strings.IndexByte(tag, 0) >= 0 {
		return "", 0, fmt.Errorf("%w: tag contains a NUL byte", ErrInvalidParms)
	}
	if !allDigits(tag) {
		return tag, 0, nil
	}
	id, err := strconv.ParseUint(tag, 10, 32)
	if err != nil || id == 0 {
		return "", 0, fmt.Errorf("%w: snapshot id %q", ErrInvalidParms, tag)
	}
	return "", uint32(id), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func nameTagPayload(name, tag string) []byte {
	b := make([]byte, nameField+tagField)
	putName(b[:nameField], name)
	putName(b[nameField:], tag)
	return b
}

func describe(name, tag string, snapid uint32) string {
	return fmt.Sprintf("%s (snapshot id: %d snapshot tag: %s)", name, snapid, tag)
}

// vdiID is GET_VDI_INFO: the VID of name at tag or snapid (0 and "" = the
// working VDI).
func (c *Client) vdiID(ctx context.Context, name, tag string, snapid uint32) (uint32, error) {
	req := Request{ProtoVer: ProtoVer, Opcode: OpGetVDIInfo, SnapID: snapid}
	op := "GET_VDI_INFO " + describe(name, tag, snapid)
	rsp, _, err := c.call(ctx, op, &req, nameTagPayload(name, tag), nil)
	if err != nil {
		return 0, err
	}
	if rsp.VDIID == 0 || rsp.VDIID >= NrVDIs {
		return 0, fmt.Errorf("sheep %s: %w: success with VID %#x", op, ErrProtocol, rsp.VDIID)
	}
	return rsp.VDIID, nil
}

// readInode is READ_OBJ of the inode header of vid.
func (c *Client) readInode(ctx context.Context, vid uint32) (Inode, error) {
	buf := make([]byte, InodeHeaderSize)
	req := Request{ProtoVer: ProtoVer, Opcode: OpReadObj, Oid: VDIOid(vid)}
	op := fmt.Sprintf("READ_OBJ inode %x", vid)
	_, n, err := c.call(ctx, op, &req, nil, buf)
	if err != nil {
		return Inode{}, err
	}
	if n != InodeHeaderSize {
		return Inode{}, fmt.Errorf("sheep %s: %w: %d of %d bytes", op, ErrProtocol, n, InodeHeaderSize)
	}
	in, err := DecodeInode(buf)
	if err != nil {
		return Inode{}, fmt.Errorf("sheep %s: %w", op, err)
	}
	if in.VDIID != vid {
		return Inode{}, fmt.Errorf("sheep %s: %w: inode says VID %x", op, ErrProtocol, in.VDIID)
	}
	return in, nil
}

func (c *Client) lookup(ctx context.Context, name, tag string) (Inode, error) {
	if err := checkName("VDI name", name); err != nil {
		return Inode{}, err
	}
	wireTag, snapid, err := snapRef(tag)
	if err != nil {
		return Inode{}, err
	}
	vid, err := c.vdiID(ctx, name, wireTag, snapid)
	if err != nil {
		return Inode{}, err
	}
	return c.readInode(ctx, vid)
}

// writeInode is WRITE_OBJ of data at off of the inode object of in,
// through the gateway (not DIRECT), with the inode's redundancy.
func (c *Client) writeInode(ctx context.Context, op string, in Inode, off uint32, data []byte) error {
	req := Request{ProtoVer: ProtoVer, Opcode: OpWriteObj, Oid: VDIOid(in.VDIID), Offset: off,
		ObjCopies: in.NrCopies, ObjPolicy: in.CopyPolicy}
	_, _, err := c.call(ctx, op, &req, data, nil)
	return err
}

// newVDI is NEW_VDI; it returns the VID in the reply.
func (c *Client) newVDI(ctx context.Context, name string, req Request) (uint32, error) {
	req.ProtoVer, req.Opcode = ProtoVer, OpNewVDI
	payload := make([]byte, nameField)
	putName(payload, name)
	op := "NEW_VDI " + name
	rsp, _, err := c.call(ctx, op, &req, payload, nil)
	if err != nil {
		return 0, err
	}
	if rsp.VDIID == 0 || rsp.VDIID >= NrVDIs {
		return 0, fmt.Errorf("sheep %s: %w: success with VID %#x", op, ErrProtocol, rsp.VDIID)
	}
	return rsp.VDIID, nil
}

// Create makes a VDI of size bytes (0 is allowed, as in dog) with the
// cluster's default redundancy and object size, and returns its VID. Sizes
// above MaxVDISize are refused client-side, as dog does without -y.
func (c *Client) Create(ctx context.Context, name string, size uint64) (uint32, error) {
	if err := checkName("VDI name", name); err != nil {
		return 0, err
	}
	if size > MaxVDISize {
		return 0, fmt.Errorf("%w: VDI size %d is larger than %d bytes (hyper volumes are not supported)", ErrInvalidParms, size, MaxVDISize)
	}
	return c.newVDI(ctx, name, Request{VDISize: size})
}

// Lookup returns the working VDI name (tag "") or its snapshot tag; an
// all-digit tag is a snapshot id. Missing: ErrNoVDI or ErrNoTag.
func (c *Client) Lookup(ctx context.Context, name, tag string) (VDI, error) {
	in, err := c.lookup(ctx, name, tag)
	if err != nil {
		return VDI{}, err
	}
	return in.VDI(), nil
}

// Snapshot snapshots the working VDI name under tag, as dog does: the tag
// is written into the working inode, then NEW_VDI with snapid=1 and the
// working VID as base turns that VID into the snapshot and gives the working
// VDI a new VID. It returns the snapshot. An all-digit tag is refused (it
// would read back as a snapshot id), so is an existing tag (ErrTagExists)
// and a hyper volume.
func (c *Client) Snapshot(ctx context.Context, name, tag string) (VDI, error) {
	if err := checkName("VDI name", name); err != nil {
		return VDI{}, err
	}
	if allDigits(tag) {
		return VDI{}, fmt.Errorf("%w: snapshot tag %q is all digits; specify a non-integer tag", ErrInvalidParms, tag)
	}
	if _, _, err := snapRef(tag); err != nil {
		return VDI{}, err
	}
	cur, err := c.lookup(ctx, name, "")
	if err != nil {
		return VDI{}, fmt.Errorf("snapshot %s: %w", name, err)
	}
	if cur.StorePolicy == StorePolicyHyper {
		return VDI{}, fmt.Errorf("%w: snapshot %s: hyper volumes cannot be snapshotted", ErrInvalidParms, name)
	}
	if tag != "" {
		_, err := c.vdiID(ctx, name, tag, 0)
		switch {
		case err == nil:
			return VDI{}, fmt.Errorf("snapshot %s: %w: %s", name, ErrTagExists, tag)
		case !isCode(err, ResNoTag):
			return VDI{}, fmt.Errorf("snapshot %s: %w", name, err)
		}
	}
	tagBuf := make([]byte, tagField)
	putName(tagBuf, tag)
	if err := c.writeInode(ctx, fmt.Sprintf("WRITE_OBJ tag of %s", name), cur, inodeOffTag, tagBuf); err != nil {
		return VDI{}, fmt.Errorf("snapshot %s: %w", name, err)
	}
	_, err = c.newVDI(ctx, name, Request{VDISize: cur.VDISize, BaseVDIID: cur.VDIID, SnapID: 1,
		Copies: cur.NrCopies, CopyPolicy: cur.CopyPolicy, StorePolicy: cur.StorePolicy,
		BlockSizeShift: cur.BlockSizeShift})
	if err != nil {
		// The working VDI did not change VID: take the tag back off it.
		if rerr := c.writeInode(ctx, "WRITE_OBJ untag "+name, cur, inodeOffTag, make([]byte, tagField)); rerr != nil {
			err = fmt.Errorf("%w (and removing the tag again failed: %v)", err, rerr)
		}
		return VDI{}, fmt.Errorf("snapshot %s: %w", name, err)
	}
	snap, err := c.readInode(ctx, cur.VDIID)
	if err != nil {
		return VDI{}, fmt.Errorf("snapshot %s: %w", name, err)
	}
	if got := snap.VDI(); got.Tag != tag {
		// Another client (a second process, an operator's dog) snapshotted the same VDI between
		// our tag write and NEW_VDI: the snapshot made carries its tag, not ours.
		return VDI{}, fmt.Errorf("snapshot %s: the snapshot made is tagged %q, not %q: another client snapshotted the VDI at the same time", name, got.Tag, tag)
	}
	return snap.VDI(), nil
}

// Clone makes newName from the snapshot srcTag of srcName (only snapshots
// can be cloned: srcTag must not be empty) and returns the new VID. The clone
// has the snapshot's size, object size and store policy and the cluster's
// default redundancy, as dog's clone.
func (c *Client) Clone(ctx context.Context, srcName, srcTag, newName string) (uint32, error) {
	if srcTag == "" {
		return 0, fmt.Errorf("%w: clone %s: only snapshot VDIs can be cloned", ErrInvalidParms, srcName)
	}
	if err := checkName("new VDI name", newName); err != nil {
		return 0, err
	}
	snap, err := c.lookup(ctx, srcName, srcTag)
	if err != nil {
		return 0, fmt.Errorf("clone %s@%s: %w", srcName, srcTag, err)
	}
	vid, err := c.newVDI(ctx, newName, Request{VDISize: snap.VDISize, BaseVDIID: snap.VDIID,
		StorePolicy: snap.StorePolicy, BlockSizeShift: snap.BlockSizeShift})
	if err != nil {
		return 0, fmt.Errorf("clone %s@%s: %w", srcName, srcTag, err)
	}
	return vid, nil
}

func maxSize(in Inode) uint64 {
	if in.StorePolicy == StorePolicyHyper {
		return in.ObjectSize() << 32
	}
	return in.ObjectSize() * MaxDataObjs
}

// Resize grows the working VDI name to size bytes by writing vdi_size into
// its inode. Shrinking and sizes above the volume's maximum (4 TiB with
// 4 MiB objects unless hyper) are refused client-side, as dog does.
func (c *Client) Resize(ctx context.Context, name string, size uint64) error {
	in, err := c.lookup(ctx, name, "")
	if err != nil {
		return fmt.Errorf("resize %s: %w", name, err)
	}
	if size < in.VDISize {
		return fmt.Errorf("%w: resize %s: shrinking VDIs is not implemented (%d < %d)", ErrInvalidParms, name, size, in.VDISize)
	}
	if m := maxSize(in); size > m {
		return fmt.Errorf("%w: resize %s: new VDI size is too large; this volume's max size is %d", ErrInvalidParms, name, m)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], size)
	if err := c.writeInode(ctx, "WRITE_OBJ vdi_size of "+name, in, inodeOffVDISize, b[:]); err != nil {
		return fmt.Errorf("resize %s: %w", name, err)
	}
	return nil
}

// nrObjects is the number of data_vdi_id entries the VDI's size covers.
func nrObjects(in Inode) uint32 {
	n := (in.VDISize + in.ObjectSize() - 1) / in.ObjectSize()
	if n > MaxDataObjs {
		n = MaxDataObjs
	}
	return uint32(n)
}

// dataIndexChunk is how many data_vdi_id entries one READ_OBJ fetches.
const dataIndexChunk = 1 << 18 // 1 MiB

// dataVDIIDs reads data_vdi_id[start, start+count) of the inode of vid.
func (c *Client) dataVDIIDs(ctx context.Context, vid, start, count uint32) ([]uint32, error) {
	ids := make([]uint32, 0, count)
	for done := uint32(0); done < count; {
		n := min(count-done, dataIndexChunk)
		buf := make([]byte, 4*n)
		off := uint32(inodeOffDataVDIID) + 4*(start+done)
		req := Request{ProtoVer: ProtoVer, Opcode: OpReadObj, Oid: VDIOid(vid), Offset: off}
		op := fmt.Sprintf("READ_OBJ data_vdi_id[%d:%d] of %x", start+done, start+done+n, vid)
		_, got, err := c.call(ctx, op, &req, nil, buf)
		if err != nil {
			return nil, err
		}
		if got != len(buf) {
			return nil, fmt.Errorf("sheep %s: %w: %d of %d bytes", op, ErrProtocol, got, len(buf))
		}
		for i := 0; i < len(buf); i += 4 {
			ids = append(ids, binary.LittleEndian.Uint32(buf[i:]))
		}
		done += n
	}
	return ids, nil
}

// Delete removes the working VDI name (tag "") or its snapshot tag (an
// all-digit tag is a snapshot id), as dog does: the non-zero data_vdi_id
// entries are zeroed first, so that the cluster frees the data objects, then
// DEL_VDI. A missing VDI or tag is ErrNoVDI or ErrNoTag (dog prints these
// and exits 0; a caller deleting idempotently treats them as gone).
func (c *Client) Delete(ctx context.Context, name, tag string) error {
	wireTag, snapid, err := snapRef(tag)
	if err != nil {
		return err
	}
	in, err := c.lookup(ctx, name, tag)
	if err != nil {
		return fmt.Errorf("delete %s: %w", describe(name, tag, snapid), err)
	}
	if in.StorePolicy == StorePolicyHyper {
		return fmt.Errorf("%w: delete %s: hyper volumes are not supported", ErrInvalidParms, name)
	}
	ids, err := c.dataVDIIDs(ctx, in.VDIID, 0, nrObjects(in))
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	for i := 0; i < len(ids); {
		if ids[i] == 0 {
			i++
			continue
		}
		j := i
		for j < len(ids) && ids[j] != 0 {
			j++
		}
		off := uint32(inodeOffDataVDIID + 4*i)
		op := fmt.Sprintf("WRITE_OBJ zero data_vdi_id[%d:%d] of %s", i, j, name)
		if err := c.writeInode(ctx, op, in, off, make([]byte, 4*(j-i))); err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
		i = j
	}
	req := Request{ProtoVer: ProtoVer, Opcode: OpDelVDI, SnapID: snapid}
	if _, _, err := c.call(ctx, "DEL_VDI "+describe(name, wireTag, snapid), &req, nameTagPayload(name, wireTag), nil); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

func (c *Client) bitmap(ctx context.Context, op string, req Request) ([]byte, error) {
	buf := make([]byte, VDIBitmapSize)
	_, n, err := c.call(ctx, op, &req, nil, buf)
	if err != nil {
		return nil, err
	}
	if n != VDIBitmapSize {
		return nil, fmt.Errorf("sheep %s: %w: bitmap of %d bytes, want %d", op, ErrProtocol, n, VDIBitmapSize)
	}
	return buf, nil
}

// List returns every VDI, snapshot and clone ordered by VID, as dog vdi list:
// READ_VDIS (VIDs in use) minus READ_DEL_VDIS (deleted ones), then each
// inode header; inodes with an empty name (deleted) are skipped. Any failed
// inode read fails the list (dog skips it with a message).
func (c *Client) List(ctx context.Context) ([]VDI, error) {
	inuse, err := c.bitmap(ctx, "READ_VDIS", Request{ProtoVer: ProtoVer, Opcode: OpReadVDIs})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	deleted, err := c.bitmap(ctx, "READ_DEL_VDIS", Request{ProtoVer: SheepProtoVer, Opcode: OpReadDelVDIs})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var out []VDI
	for i := range inuse {
		live := inuse[i] &^ deleted[i]
		for bit := 0; live != 0 && bit < 8; bit++ {
			if live&(1<<bit) == 0 {
				continue
			}
			vid := uint32(i*8 + bit)
			if vid == 0 {
				continue // VID 0 is never a VDI (sheep reserves it)
			}
			in, err := c.readInode(ctx, vid)
			if err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			if in.Name == "" {
				continue
			}
			out = append(out, in.VDI())
		}
	}
	return out, nil
}

var clusterStatus = map[uint32]string{
	ResSuccess:     "running",
	ResWaitForFmt:  "Waiting for cluster to be formatted",
	ResWaitForJoin: "Waiting for other nodes to join cluster",
	ResShutdown:    "System is shutting down",
}

// ClusterInfo asks STAT_CLUSTER (no epoch log requested) for the cluster's
// status. Running, waiting for format or join and shutting down are statuses
// (nil error, see Cluster.Err); any other result code is an error.
func (c *Client) ClusterInfo(ctx context.Context) (Cluster, error) {
	req := Request{ProtoVer: SheepProtoVer, Opcode: OpStatCluster}
	_, _, err := c.call(ctx, "STAT_CLUSTER", &req, nil, nil)
	code := ResSuccess
	if err != nil {
		var re *ResultError
		if !errors.As(err, &re) {
			return Cluster{}, fmt.Errorf("cluster info: %w", err)
		}
		if _, status := clusterStatus[re.Code]; !status {
			return Cluster{}, fmt.Errorf("cluster info: %w", err)
		}
		code = re.Code
	}
	return Cluster{Result: code, Status: clusterStatus[code]}, nil
}

// Capacity is STAT_SHEEP of the sheep this client talks to: its store size
// and what of it is used (size - free). dog node info sums every node; with
// one node, as recorded, the two agree.
func (c *Client) Capacity(ctx context.Context) (total, used uint64, err error) {
	req := Request{ProtoVer: SheepProtoVer, Opcode: OpStatSheep}
	rsp, _, err := c.call(ctx, "STAT_SHEEP", &req, nil, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("capacity: %w", err)
	}
	if rsp.StoreFree > rsp.StoreSize {
		return 0, 0, fmt.Errorf("capacity: %w: store_free %d above store_size %d", ErrProtocol, rsp.StoreFree, rsp.StoreSize)
	}
	return rsp.StoreSize, rsp.StoreSize - rsp.StoreFree, nil
}

func isCode(err error, code uint32) bool {
	var re *ResultError
	return errors.As(err, &re) && re.Code == code
}
