package chunked

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Cinder's format records md5 of each object.
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Errors of the engine, wrapped with context; errors.Is tells them apart.
var (
	// ErrIncomplete: the backup has no metadata object, so it never finished (or is
	// being deleted); it cannot be restored nor used as a parent.
	ErrIncomplete = errors.New("backup is not complete")
	// ErrCorrupt: what is stored does not match the metadata (objects missing or extra,
	// a length or md5 that differs, JSON that does not parse, a chain that does not link).
	ErrCorrupt = errors.New("backup is corrupt")
)

// Ref names a stored backup: its container and its object prefix (Cinder's
// backup.container and backup.service_metadata).
type Ref struct {
	Container string
	Prefix    string
}

func (r Ref) validate() error {
	if r.Container == "" {
		return fmt.Errorf("%w: no container", ErrInvalid)
	}
	if r.Prefix == "" {
		return fmt.Errorf("%w: no object prefix", ErrInvalid)
	}
	return nil
}

// ProgressFunc is told the bytes done out of the total after each object.
type ProgressFunc func(done, total int64)

// Description says what to back up and how to record it.
type Description struct {
	BackupID string
	VolumeID string
	// Name and Description are the backup's display_name and display_description (nil
	// for Python's None).
	Name, Description *string
	CreatedAt         time.Time
	// Where the objects go. The prefix is Cinder's service_metadata (posix:
	// "volume_<volume id>_<YYYYmmddHHMMSS>_backup_<backup id>").
	Ref
	// Parent, when set, makes the backup incremental against that complete backup.
	Parent *Ref
	// VolumeMeta is the volume's serialised metadata (Cinder's volume_meta), or nil.
	VolumeMeta *string
	// ExtraMetadata is a driver's extra metadata, recorded when not empty.
	ExtraMetadata json.RawMessage
	Progress      ProgressFunc
}

// Result tells what a backup stored.
type Result struct {
	Metadata *Metadata
	// ObjectCount is Cinder's backup.object_count: the data objects written.
	ObjectCount int
	// StoredBytes is the sum of the data objects' stored (compressed) sizes.
	StoredBytes int64
	// Existing is true when the prefix already held this complete backup and nothing
	// was written.
	Existing bool
}

// RestoreOptions tune a restore.
type RestoreOptions struct {
	// VolumeIsNew says the target reads as zeros: the full backup's all-zero ranges
	// are then not written (the volume stays sparse), as Cinder's _write_nonzero.
	VolumeIsNew bool
	Progress    ProgressFunc
}

// Engine backs volumes up into a Store in Cinder's chunked format.
type Engine struct {
	store     Store
	opts      Options
	algorithm string // as configured, lower-cased: what the metadata records
	canonical string
	log       logrus.FieldLogger
	// zeroBlock is SHABlockSize zero bytes and zeroSHA their sha256 (hex): a sparse volume's
	// blocks are recognised by comparison, much faster than hashing them.
	zeroBlock []byte
	zeroSHA   string
}

// New answers an engine writing through store; the options are validated.
func New(store Store, opts Options, log logrus.FieldLogger) (*Engine, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: no object store", ErrInvalid)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	canonical, _ := NormalizeAlgorithm(opts.CompressionAlgorithm)
	if log == nil {
		log = logrus.StandardLogger()
	}
	zero := make([]byte, opts.SHABlockSize)
	sum := sha256.Sum256(zero)
	return &Engine{
		store:     store,
		opts:      opts,
		algorithm: strings.ToLower(opts.CompressionAlgorithm),
		canonical: canonical,
		log:       log,
		zeroBlock: zero,
		zeroSHA:   hex.EncodeToString(sum[:]),
	}, nil
}

// Backup reads size bytes of the volume from src and stores them under d.Ref: data
// objects of at most FileSize bytes, then the sha256file, then the metadata. With
// d.Parent it stores only the runs of blocks whose sha256 differs from the parent's.
func (e *Engine) Backup(ctx context.Context, src io.ReaderAt, size int64, d Description) (*Result, error) {
	if err := e.checkDescription(src, size, d); err != nil {
		return nil, err
	}
	log := e.log.WithFields(logrus.Fields{"backup_id": d.BackupID, "volume_id": d.VolumeID,
		"container": d.Container, "prefix": d.Prefix})

	existing, err := e.ReadMetadata(ctx, d.Ref)
	switch {
	case err == nil:
		if existing.BackupID != d.BackupID {
			return nil, fmt.Errorf("%w: prefix %q in container %q already holds backup %s, not %s",
				ErrInvalid, d.Prefix, d.Container, existing.BackupID, d.BackupID)
		}
		log.Info("backup already complete; nothing to write")
		return resultOf(existing, true), nil
	case !errors.Is(err, ErrIncomplete):
		return nil, err
	}

	nblocks := (size + e.opts.SHABlockSize - 1) / e.opts.SHABlockSize
	var parentID *string
	var parentSHAs []string
	if d.Parent != nil {
		pm, err := e.ReadMetadata(ctx, *d.Parent)
		if err != nil {
			return nil, fmt.Errorf("parent backup of incremental backup %s: %w", d.BackupID, err)
		}
		ps, err := e.ReadSHA256File(ctx, *d.Parent)
		if err != nil {
			return nil, fmt.Errorf("parent backup %s: %w", pm.BackupID, err)
		}
		if ps.ChunkSize != e.opts.SHABlockSize {
			return nil, fmt.Errorf("%w: hash block size has changed since the last backup. New hash block size: %d. "+
				"Old hash block size: %d. Do a full backup", ErrInvalid, e.opts.SHABlockSize, ps.ChunkSize)
		}
		if int64(len(ps.SHA256s)) < nblocks {
			return nil, fmt.Errorf("%w: volume size increased since the last backup (%d blocks, parent %s has %d). "+
				"Do a full backup", ErrInvalid, nblocks, pm.BackupID, len(ps.SHA256s))
		}
		id := pm.BackupID
		parentID, parentSHAs = &id, ps.SHA256s
	}

	// Leftovers of an attempt that died before its metadata: start clean, so the
	// objects listed under the prefix are exactly this attempt's.
	if err := e.deleteObjects(ctx, d.Ref, log); err != nil {
		return nil, fmt.Errorf("clearing an unfinished attempt of backup %s: %w", d.BackupID, err)
	}

	comp, err := newCompressor(e.canonical)
	if err != nil {
		return nil, err
	}
	defer comp.close()

	w := &chunkWriter{engine: e, ref: d.Ref, comp: comp, objects: make([]ObjectEntry, 0), nextID: 1}
	shas := make([]string, 0, nblocks)
	buf := make([]byte, min(e.opts.FileSize, size))
	kind := "full"
	if parentID != nil {
		kind = "incremental"
	}
	log.WithFields(logrus.Fields{"size": size, "kind": kind, "parent_id": deref(parentID)}).Info("backup started")

	for off := int64(0); off < size; off += e.opts.FileSize {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("backup %s cancelled at offset %d: %w", d.BackupID, off, err)
		}
		data := buf[:min(e.opts.FileSize, size-off)]
		if err := readFull(src, data, off); err != nil {
			return nil, fmt.Errorf("reading volume %s at offset %d: %w", d.VolumeID, off, err)
		}
		var blockSHAs []string
		if parentSHAs == nil {
			// A full backup hashes the chunk's blocks while it compresses and stores it.
			shas := make(chan []string, 1)
			go func() { shas <- e.blockSHAs(data) }()
			err := w.write(ctx, data, off)
			blockSHAs = <-shas
			if err != nil {
				return nil, err
			}
		} else {
			blockSHAs = e.blockSHAs(data)
			// Cinder's extents: each run of blocks whose sha differs from the parent's
			// is one object.
			first := int64(len(shas))
			start := -1
			for i, sha := range blockSHAs {
				changed := sha != parentSHAs[first+int64(i)]
				if changed && start < 0 {
					start = i
				}
				if !changed && start >= 0 {
					if err := w.write(ctx, data[int64(start)*e.opts.SHABlockSize:int64(i)*e.opts.SHABlockSize],
						off+int64(start)*e.opts.SHABlockSize); err != nil {
						return nil, err
					}
					start = -1
				}
			}
			if start >= 0 {
				if err := w.write(ctx, data[int64(start)*e.opts.SHABlockSize:], off+int64(start)*e.opts.SHABlockSize); err != nil {
					return nil, err
				}
			}
		}
		shas = append(shas, blockSHAs...)
		if d.Progress != nil {
			d.Progress(off+int64(len(data)), size)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backup %s cancelled before its metadata: %w", d.BackupID, err)
	}

	created := PythonTime(d.CreatedAt)
	sf := &SHA256File{
		BackupDescription: d.Description, BackupID: d.BackupID, BackupName: d.Name,
		ChunkSize: e.opts.SHABlockSize, CreatedAt: created, SHA256s: shas,
		Version: FormatVersion, VolumeID: d.VolumeID,
	}
	if err := e.putJSON(ctx, d.Container, SHA256FileName(d.Prefix), sf); err != nil {
		return nil, err
	}
	md := &Metadata{
		BackupDescription: d.Description, BackupID: d.BackupID, BackupName: d.Name,
		CreatedAt: created, ExtraMetadata: d.ExtraMetadata, Objects: w.objects,
		ParentID: parentID, Version: FormatVersion, VolumeID: d.VolumeID, VolumeMeta: d.VolumeMeta,
	}
	if len(md.ExtraMetadata) == 0 || string(md.ExtraMetadata) == "null" {
		md.ExtraMetadata = nil
	}
	// The metadata last: from here on the backup is complete.
	if err := e.putJSON(ctx, d.Container, MetadataName(d.Prefix), md); err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{"objects": len(w.objects), "stored_bytes": w.stored}).Info("backup finished")
	return &Result{Metadata: md, ObjectCount: len(w.objects), StoredBytes: w.stored}, nil
}

func (e *Engine) checkDescription(src io.ReaderAt, size int64, d Description) error {
	if src == nil {
		return fmt.Errorf("%w: no volume to read", ErrInvalid)
	}
	if size <= 0 {
		return fmt.Errorf("%w: volume size %d is invalid", ErrInvalid, size)
	}
	if d.BackupID == "" || d.VolumeID == "" {
		return fmt.Errorf("%w: a backup needs its backup id and volume id", ErrInvalid)
	}
	if err := d.Ref.validate(); err != nil {
		return err
	}
	if d.Parent != nil {
		if err := d.Parent.validate(); err != nil {
			return fmt.Errorf("parent: %w", err)
		}
		if *d.Parent == d.Ref {
			return fmt.Errorf("%w: a backup cannot be its own parent", ErrInvalid)
		}
	}
	return nil
}

func resultOf(md *Metadata, existing bool) *Result {
	return &Result{Metadata: md, ObjectCount: len(md.Objects), Existing: existing}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readFull reads len(p) bytes at off; an io.EOF with every byte read is fine.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("short read: %d of %d bytes (%w)", n, len(p), io.ErrUnexpectedEOF)
	}
	return err
}

func (e *Engine) blockSHAs(data []byte) []string {
	out := make([]string, 0, (int64(len(data))+e.opts.SHABlockSize-1)/e.opts.SHABlockSize)
	for off := int64(0); off < int64(len(data)); off += e.opts.SHABlockSize {
		block := data[off:min(off+e.opts.SHABlockSize, int64(len(data)))]
		if bytes.Equal(block, e.zeroBlock) {
			out = append(out, e.zeroSHA)
			continue
		}
		sum := sha256.Sum256(block)
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

// chunkWriter stores data objects one after the other, numbering them from 1.
type chunkWriter struct {
	engine  *Engine
	ref     Ref
	comp    *compressor
	objects []ObjectEntry
	nextID  int
	stored  int64
}

func (w *chunkWriter) write(ctx context.Context, data []byte, off int64) error {
	name := ObjectName(w.ref.Prefix, w.nextID)
	// The md5 the metadata records is taken while the data is compressed.
	sums := make(chan [md5.Size]byte, 1)
	go func() { sums <- md5.Sum(data) }() //nolint:gosec // format
	out, ok, err := w.comp.compress(data)
	sum := <-sums
	if err != nil {
		return fmt.Errorf("object %s: %w", name, err)
	}
	algorithm := w.engine.algorithm
	if !ok {
		out, algorithm = data, AlgorithmNone
	}
	if err := w.engine.store.Put(ctx, w.ref.Container, name, bytes.NewReader(out)); err != nil {
		return fmt.Errorf("storing object %s in container %s: %w", name, w.ref.Container, err)
	}
	w.objects = append(w.objects, ObjectEntry{Name: name, Object: Object{
		Compression: algorithm, Length: int64(len(data)), MD5: hex.EncodeToString(sum[:]), Offset: off,
	}})
	w.nextID++
	w.stored += int64(len(out))
	return nil
}

func (e *Engine) putJSON(ctx context.Context, container, name string, v any) error {
	b, err := encodePython(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	if err := e.store.Put(ctx, container, name, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("storing %s in container %s: %w", name, container, err)
	}
	return nil
}

// ReadMetadata reads a backup's metadata object; a backup without one answers
// ErrIncomplete.
func (e *Engine) ReadMetadata(ctx context.Context, ref Ref) (*Metadata, error) {
	var md Metadata
	if err := e.readJSON(ctx, ref, MetadataName(ref.Prefix), &md); err != nil {
		return nil, err
	}
	if md.BackupID == "" || md.Version == "" {
		return nil, fmt.Errorf("%w: %s in container %s has no backup_id or version", ErrCorrupt, MetadataName(ref.Prefix), ref.Container)
	}
	if md.Objects == nil {
		md.Objects = make([]ObjectEntry, 0)
	}
	return &md, nil
}

// ReadSHA256File reads a backup's sha256file object.
func (e *Engine) ReadSHA256File(ctx context.Context, ref Ref) (*SHA256File, error) {
	var sf SHA256File
	if err := e.readJSON(ctx, ref, SHA256FileName(ref.Prefix), &sf); err != nil {
		return nil, err
	}
	if sf.ChunkSize <= 0 {
		return nil, fmt.Errorf("%w: %s in container %s has chunk_size %d", ErrCorrupt, SHA256FileName(ref.Prefix), ref.Container, sf.ChunkSize)
	}
	return &sf, nil
}

func (e *Engine) readJSON(ctx context.Context, ref Ref, name string, v any) error {
	if err := ref.validate(); err != nil {
		return err
	}
	r, err := e.store.Get(ctx, ref.Container, name)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s is missing from container %s: %w", ErrIncomplete, name, ref.Container, err)
	}
	if err != nil {
		return fmt.Errorf("reading %s from container %s: %w", name, ref.Container, err)
	}
	defer r.Close()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("%w: %s in container %s: %w", ErrCorrupt, name, ref.Container, err)
	}
	return nil
}

// Delete removes every object of the backup: the metadata first (so a delete that
// dies midway leaves a backup that is not complete), then the rest, temporary leftovers
// included. Absent objects, or an absent backup, are fine. A backup with no container
// or no prefix never stored anything (it failed before Cinder's _prepare_backup named
// them): there is nothing to delete, as Cinder's delete_backup; an empty prefix must not
// list the whole container.
func (e *Engine) Delete(ctx context.Context, ref Ref) error {
	log := e.log.WithFields(logrus.Fields{"container": ref.Container, "prefix": ref.Prefix})
	if ref.Container == "" || ref.Prefix == "" {
		log.Debug("backup has no container or prefix: no objects to delete")
		return nil
	}
	if err := e.store.Delete(ctx, ref.Container, MetadataName(ref.Prefix)); err != nil {
		return fmt.Errorf("deleting %s from container %s: %w", MetadataName(ref.Prefix), ref.Container, err)
	}
	if err := e.deleteObjects(ctx, ref, log); err != nil {
		return err
	}
	log.Info("backup objects deleted")
	return nil
}

// deleteObjects deletes everything listed under the prefix (as Cinder's delete_backup).
func (e *Engine) deleteObjects(ctx context.Context, ref Ref, log logrus.FieldLogger) error {
	names, err := e.store.List(ctx, ref.Container, ref.Prefix)
	if err != nil {
		return fmt.Errorf("listing container %s under %s: %w", ref.Container, ref.Prefix, err)
	}
	// The metadata before anything else, the sha256file after the data.
	slices.SortStableFunc(names, func(a, b string) int { return deleteRank(ref.Prefix, a) - deleteRank(ref.Prefix, b) })
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("deleting backup objects under %s: %w", ref.Prefix, err)
		}
		if err := e.store.Delete(ctx, ref.Container, name); err != nil {
			return fmt.Errorf("deleting %s from container %s: %w", name, ref.Container, err)
		}
		log.WithField("object", name).Debug("deleted backup object")
	}
	return nil
}

func deleteRank(prefix, name string) int {
	switch name {
	case MetadataName(prefix):
		return 0
	case SHA256FileName(prefix):
		return 2
	}
	return 1
}
