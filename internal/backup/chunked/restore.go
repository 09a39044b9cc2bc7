package chunked

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Cinder's format records md5 of each object.
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/sirupsen/logrus"
)

// zeroPiece is the granularity at which a restore onto a new volume skips zeros
// (Cinder's _write_nonzero: 1 MiB).
const zeroPiece = 1 << 20

var zeros = make([]byte, zeroPiece)

// maxObjectLength bounds the buffer a metadata can make a restore allocate; Cinder's
// largest objects are backup_file_size (about 2 GB by default).
const maxObjectLength = 16 << 30

// layer is one backup of a chain, verified and ready to apply.
type layer struct {
	ref Ref
	md  *Metadata
}

// Restore writes the chain of backups into w: chain[0] is the full backup, each next
// one an incremental backup of the one before it, the last the backup asked for
// (Cinder's restore walks parent_id to build the same list). Before anything is
// written, every metadata is read and checked: each backup complete, of format version
// 1.0.0, linked to the one before by parent_id, its objects in the container exactly
// those its metadata lists. Then the full backup is applied, and each incremental on
// top; every object's length and md5 are checked before it is written. If w has a Sync
// method it is called after each object, as Cinder fsyncs.
//
// It answers the chain's metadata, full backup first, so that the caller restores each
// one's volume_meta in order, as Cinder's restore does after each layer.
func (e *Engine) Restore(ctx context.Context, chain []Ref, w io.WriterAt, ro RestoreOptions) ([]*Metadata, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: no backup to restore", ErrInvalid)
	}
	if w == nil {
		return nil, fmt.Errorf("%w: no volume to write", ErrInvalid)
	}
	layers, total, err := e.verifyChain(ctx, chain)
	if err != nil {
		return nil, err
	}
	asked := layers[len(layers)-1].md.BackupID
	log := e.log.WithFields(logrus.Fields{"backup_id": asked, "chain": len(layers), "volume_is_new": ro.VolumeIsNew})
	log.WithField("bytes", total).Info("restore started")

	dec := &decompressor{}
	defer dec.close()
	syncer, _ := w.(interface{ Sync() error })
	var buf []byte
	var done int64
	for i, l := range layers {
		// Only the full backup may skip zeros on a new volume: an incremental's zeros
		// overwrite what the layers below wrote.
		skipZeros := ro.VolumeIsNew && i == 0
		for _, obj := range l.md.Objects {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("restore of backup %s cancelled at object %s: %w", asked, obj.Name, err)
			}
			if int64(cap(buf)) < obj.Length {
				buf = make([]byte, obj.Length)
			}
			data := buf[:obj.Length]
			if err := e.readObject(ctx, dec, l.ref, obj, data); err != nil {
				return nil, fmt.Errorf("restoring backup %s (layer %d of %d, backup %s): %w", asked, i+1, len(layers), l.md.BackupID, err)
			}
			// The object's md5 is checked while it is written: a corrupt object fails the
			// restore (the volume ends error_restoring) as it would before its write.
			sums := make(chan [md5.Size]byte, 1)
			go func() { sums <- md5.Sum(data) }() //nolint:gosec // format
			werr := writeVolume(w, data, obj.Offset, skipZeros)
			sum := <-sums
			if got := hex.EncodeToString(sum[:]); got != obj.MD5 {
				return nil, fmt.Errorf("restoring backup %s (layer %d of %d, backup %s): %w: object %s has md5 %s, its metadata says %s",
					asked, i+1, len(layers), l.md.BackupID, ErrCorrupt, obj.Name, got, obj.MD5)
			}
			if werr != nil {
				return nil, fmt.Errorf("writing object %s at volume offset %d: %w", obj.Name, obj.Offset, werr)
			}
			if syncer != nil {
				if err := syncer.Sync(); err != nil {
					return nil, fmt.Errorf("syncing the volume after object %s: %w", obj.Name, err)
				}
			}
			done += obj.Length
			if ro.Progress != nil {
				ro.Progress(done, total)
			}
		}
	}
	log.Info("restore finished")
	mds := make([]*Metadata, len(layers))
	for i, l := range layers {
		mds[i] = l.md
	}
	return mds, nil
}

// verifyChain reads and checks every metadata of the chain and answers them with the
// total of their objects' lengths.
func (e *Engine) verifyChain(ctx context.Context, chain []Ref) ([]layer, int64, error) {
	layers := make([]layer, 0, len(chain))
	var total int64
	for i, ref := range chain {
		md, err := e.ReadMetadata(ctx, ref)
		if err != nil {
			return nil, 0, fmt.Errorf("backup %d of the chain (prefix %s): %w", i+1, ref.Prefix, err)
		}
		if md.Version != FormatVersion {
			return nil, 0, fmt.Errorf("%w: no support to restore backup version %s (backup %s)", ErrInvalid, md.Version, md.BackupID)
		}
		switch {
		case i == 0 && md.ParentID != nil:
			return nil, 0, fmt.Errorf("%w: the chain starts with backup %s, an incremental backup of %s, not a full one",
				ErrInvalid, md.BackupID, *md.ParentID)
		case i > 0 && (md.ParentID == nil || *md.ParentID != layers[i-1].md.BackupID):
			return nil, 0, fmt.Errorf("%w: backup %s's parent is %q, not %s, the backup before it in the chain",
				ErrInvalid, md.BackupID, deref(md.ParentID), layers[i-1].md.BackupID)
		}
		if err := e.verifyObjects(ctx, ref, md); err != nil {
			return nil, 0, err
		}
		for _, o := range md.Objects {
			total += o.Length
		}
		layers = append(layers, layer{ref: ref, md: md})
	}
	return layers, total, nil
}

// verifyObjects checks that the container holds exactly the data objects the metadata
// lists (Cinder: "actual object list does not match object list stored in metadata")
// and that each entry makes sense.
func (e *Engine) verifyObjects(ctx context.Context, ref Ref, md *Metadata) error {
	listed, err := e.store.List(ctx, ref.Container, ref.Prefix)
	if err != nil {
		return fmt.Errorf("listing container %s under %s: %w", ref.Container, ref.Prefix, err)
	}
	actual := make([]string, 0, len(listed))
	for _, n := range listed {
		if isDataObject(ref.Prefix, n) {
			actual = append(actual, n)
		}
	}
	want := make([]string, 0, len(md.Objects))
	for _, o := range md.Objects {
		if o.Offset < 0 || o.Length < 0 || o.Length > maxObjectLength {
			return fmt.Errorf("%w: object %s of backup %s has offset %d and length %d", ErrCorrupt, o.Name, md.BackupID, o.Offset, o.Length)
		}
		if _, err := NormalizeAlgorithm(o.Compression); err != nil {
			return fmt.Errorf("object %s of backup %s: %w", o.Name, md.BackupID, err)
		}
		want = append(want, o.Name)
	}
	slices.Sort(actual)
	slices.Sort(want)
	if !slices.Equal(actual, want) {
		return fmt.Errorf("%w: restore of backup %s aborted, actual object list does not match object list stored in metadata "+
			"(container %s holds %d objects under %s, the metadata lists %d)", ErrCorrupt, md.BackupID, ref.Container, len(actual), ref.Prefix, len(want))
	}
	return nil
}

// readObject reads obj, decompressed, into data (obj.Length bytes) and checks its
// length; the caller checks its md5.
func (e *Engine) readObject(ctx context.Context, dec *decompressor, ref Ref, obj ObjectEntry, data []byte) error {
	r, err := e.store.Get(ctx, ref.Container, obj.Name)
	if err != nil {
		return fmt.Errorf("reading object %s from container %s: %w", obj.Name, ref.Container, err)
	}
	defer r.Close()
	dr, err := dec.reader(obj.Compression, r)
	if err != nil {
		return fmt.Errorf("%w: object %s (%s): %w", ErrCorrupt, obj.Name, obj.Compression, err)
	}
	defer dr.Close()
	if _, err := io.ReadFull(dr, data); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: object %s is shorter than the %d bytes its metadata says", ErrCorrupt, obj.Name, obj.Length)
		}
		return fmt.Errorf("%w: object %s (%s): %w", ErrCorrupt, obj.Name, obj.Compression, err)
	}
	var one [1]byte
	if n, err := dr.Read(one[:]); n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if n > 0 {
			return fmt.Errorf("%w: object %s is longer than the %d bytes its metadata says", ErrCorrupt, obj.Name, obj.Length)
		}
		return fmt.Errorf("%w: object %s (%s): %w", ErrCorrupt, obj.Name, obj.Compression, err)
	}
	return nil
}

// writeVolume writes data at off; with skipZeros the all-zero 1 MiB pieces are left
// unwritten.
func writeVolume(w io.WriterAt, data []byte, off int64, skipZeros bool) error {
	if !skipZeros {
		_, err := w.WriteAt(data, off)
		return err
	}
	for p := 0; p < len(data); p += zeroPiece {
		piece := data[p:min(p+zeroPiece, len(data))]
		if bytes.Equal(piece, zeros[:len(piece)]) {
			continue
		}
		if _, err := w.WriteAt(piece, off+int64(p)); err != nil {
			return err
		}
	}
	return nil
}
