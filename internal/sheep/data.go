package sheep

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// span is the part of one data object that a byte range covers.
type span struct {
	idx      uint32 // data object index
	objOff   uint32 // offset inside the object
	bufStart int    // offset inside the caller's buffer
	n        int    // bytes
}

// spans cuts [off, off+n) into per-object pieces of objSize bytes.
func spans(off int64, n int, objSize uint64) []span {
	var out []span
	pos := 0
	for pos < n {
		abs := uint64(off) + uint64(pos)
		idx := abs / objSize
		in := abs % objSize
		l := min(uint64(n-pos), objSize-in)
		out = append(out, span{idx: uint32(idx), objOff: uint32(in), bufStart: pos, n: int(l)})
		pos += int(l)
	}
	return out
}

func checkRange(in Inode, n int, off int64) error {
	if off < 0 || uint64(off)+uint64(n) > in.VDISize {
		return fmt.Errorf("%w: range [%d, %d) outside VDI %s of %d bytes", ErrInvalidParms, off, off+int64(n), in.Name, in.VDISize)
	}
	if in.StorePolicy == StorePolicyHyper {
		return fmt.Errorf("%w: data I/O on hyper volume %s is not supported", ErrInvalidParms, in.Name)
	}
	return nil
}

// ReadAt fills p from offset off of the VDI name at tag ("" = the working
// VDI; an all-digit tag is a snapshot id). Each object is read from the VID
// its data_vdi_id entry names, which may be an ancestor's; unallocated
// objects read as zeros. The range must lie inside the VDI.
func (c *Client) ReadAt(ctx context.Context, name, tag string, p []byte, off int64) error {
	in, err := c.lookup(ctx, name, tag)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := c.readInodeData(ctx, in, p, off); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

func (c *Client) readInodeData(ctx context.Context, in Inode, p []byte, off int64) error {
	if err := checkRange(in, len(p), off); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	sp := spans(off, len(p), in.ObjectSize())
	first := sp[0].idx
	ids, err := c.dataVDIIDs(ctx, in.VDIID, first, sp[len(sp)-1].idx-first+1)
	if err != nil {
		return err
	}
	for _, s := range sp {
		dst := p[s.bufStart : s.bufStart+s.n]
		owner := ids[s.idx-first]
		if owner == 0 {
			clear(dst)
			continue
		}
		if err := c.readObject(ctx, DataOid(owner, s.idx), s.objOff, dst); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) readObject(ctx context.Context, oid uint64, off uint32, dst []byte) error {
	req := Request{ProtoVer: ProtoVer, Opcode: OpReadObj, Oid: oid, Offset: off}
	op := fmt.Sprintf("READ_OBJ %016x@%d", oid, off)
	_, n, err := c.call(ctx, op, &req, nil, dst)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return fmt.Errorf("sheep %s: %w: %d of %d bytes", op, ErrProtocol, n, len(dst))
	}
	return nil
}

// WriteAt writes p at offset off of the working VDI name. An object the VDI
// owns is written in place (WRITE_OBJ); an unallocated one is created
// (CREATE_AND_WRITE_OBJ); one inherited from an ancestor is copied on write
// (CREATE_AND_WRITE_OBJ with the COW flag and the ancestor's object as
// cow_oid). A created object is then recorded in the inode's data_vdi_id.
// When the VDI was snapshotted meanwhile (ErrReadOnly: its VID became the
// snapshot's), the VDI is looked up again and the write repeated once, as
// tgt's sheepdog store does.
func (c *Client) WriteAt(ctx context.Context, name string, p []byte, off int64) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var in Inode
		in, err = c.lookup(ctx, name, "")
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		err = c.writeInodeData(ctx, in, p, off)
		if !errors.Is(err, ErrReadOnly) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (c *Client) writeInodeData(ctx context.Context, in Inode, p []byte, off int64) error {
	if err := checkRange(in, len(p), off); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	sp := spans(off, len(p), in.ObjectSize())
	first := sp[0].idx
	ids, err := c.dataVDIIDs(ctx, in.VDIID, first, sp[len(sp)-1].idx-first+1)
	if err != nil {
		return err
	}
	for _, s := range sp {
		if err := c.writeObject(ctx, in, ids[s.idx-first], s, p[s.bufStart:s.bufStart+s.n]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) writeObject(ctx context.Context, in Inode, owner uint32, s span, data []byte) error {
	oid := DataOid(in.VDIID, s.idx)
	req := Request{ProtoVer: ProtoVer, Oid: oid, Offset: s.objOff, ObjCopies: in.NrCopies, ObjPolicy: in.CopyPolicy}
	switch owner {
	case in.VDIID:
		req.Opcode = OpWriteObj
		_, _, err := c.call(ctx, fmt.Sprintf("WRITE_OBJ %016x@%d", oid, s.objOff), &req, data, nil)
		return err
	case 0:
		req.Opcode = OpCreateAndWriteObj
	default:
		req.Opcode = OpCreateAndWriteObj
		req.Flags = FlagCmdCOW
		req.CowOid = DataOid(owner, s.idx)
	}
	op := fmt.Sprintf("CREATE_AND_WRITE_OBJ %016x@%d (cow %016x)", oid, s.objOff, req.CowOid)
	if _, _, err := c.call(ctx, op, &req, data, nil); err != nil {
		return err
	}
	var e [4]byte
	binary.LittleEndian.PutUint32(e[:], in.VDIID)
	return c.writeInode(ctx, fmt.Sprintf("WRITE_OBJ data_vdi_id[%d] of %s", s.idx, in.Name), in,
		uint32(inodeOffDataVDIID)+4*s.idx, e[:])
}

// CopyData copies the contents of srcName at srcTag ("" = the working VDI)
// into the working VDI dstName, which must be at least as large. It is
// sparse-aware: only the objects allocated in the source (a non-zero
// data_vdi_id entry, its own or inherited) are read and written; the rest
// of the destination is left as it is.
func (c *Client) CopyData(ctx context.Context, srcName, srcTag, dstName string) error {
	src, err := c.lookup(ctx, srcName, srcTag)
	if err != nil {
		return fmt.Errorf("copy %s@%s to %s: %w", srcName, srcTag, dstName, err)
	}
	dst, err := c.lookup(ctx, dstName, "")
	if err != nil {
		return fmt.Errorf("copy %s@%s to %s: %w", srcName, srcTag, dstName, err)
	}
	if err := copyCheck(src, dst); err != nil {
		return fmt.Errorf("copy %s@%s to %s: %w", srcName, srcTag, dstName, err)
	}
	ids, err := c.dataVDIIDs(ctx, src.VDIID, 0, nrObjects(src))
	if err != nil {
		return fmt.Errorf("copy %s@%s to %s: %w", srcName, srcTag, dstName, err)
	}
	objSize := src.ObjectSize()
	buf := make([]byte, objSize)
	for idx, owner := range ids {
		if owner == 0 {
			continue
		}
		start := uint64(idx) * objSize
		n := min(objSize, src.VDISize-start)
		chunk := buf[:n]
		if err := c.readObject(ctx, DataOid(owner, uint32(idx)), 0, chunk); err != nil {
			return fmt.Errorf("copy %s@%s to %s: %w", srcName, srcTag, dstName, err)
		}
		if err := c.writeInodeData(ctx, dst, chunk, int64(start)); err != nil {
			return fmt.Errorf("copy %s@%s to %s: %w", srcName, srcTag, dstName, err)
		}
	}
	return nil
}

func copyCheck(src, dst Inode) error {
	switch {
	case src.StorePolicy == StorePolicyHyper || dst.StorePolicy == StorePolicyHyper:
		return fmt.Errorf("%w: hyper volumes are not supported", ErrInvalidParms)
	case dst.VDISize < src.VDISize:
		return fmt.Errorf("%w: destination of %d bytes is smaller than the source's %d", ErrInvalidParms, dst.VDISize, src.VDISize)
	case src.VDIID == dst.VDIID:
		return fmt.Errorf("%w: source and destination are the same VDI", ErrInvalidParms)
	}
	return nil
}
