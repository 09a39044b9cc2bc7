// Package chunked is Cinder's chunked backup format (cinder/backup/chunkeddriver.py,
// ChunkedBackupDriver) for Scoria's backup drivers that keep a backup as objects in a
// container: posix, NFS (posix on a mounted share) and any object store later.
//
// It holds:
//   - Store, the small object store interface the engine writes through (put a streamed
//     object atomically, get, delete idempotently, list by prefix, within a container),
//     and the errors stores answer with (ErrNotFound);
//   - Options, Cinder's backup_file_size, backup_sha_block_size_bytes and
//     backup_compression_algorithm with their defaults and checks;
//   - the compression algorithms under Cinder's names and aliases (none/off/no, zlib/gzip,
//     bz2/bzip2, zstd), NormalizeAlgorithm;
//   - Metadata and SHA256File, the `<prefix>_metadata` and `<prefix>_sha256file` JSON
//     objects, encoded byte for byte as Cinder's json.dumps(sort_keys=True, indent=2);
//   - Engine: Backup (full, or incremental against a parent's sha256file, storing only
//     the runs of changed blocks), Restore (a chain from the full backup to the one asked,
//     verified), Delete (idempotent), ReadMetadata and ReadSHA256File.
//
// Crash safety: every object is put atomically by the store; the sha256file and then the
// metadata object are written last, so a backup whose writer died has no `_metadata` and
// is never taken for complete (ErrIncomplete); Delete removes the metadata first, so a
// half-deleted backup is not complete either. Backup of a prefix that already holds a
// complete backup answers that backup (idempotent); leftovers of an unfinished attempt
// are removed before it starts again.
//
// Memory is bounded: one chunk (backup_file_size bytes) is read at a time, plus its
// compressed form, which is never kept larger than the chunk (a chunk that does not
// shrink is stored uncompressed, as Cinder does). Restore streams each object through its
// decompressor into one chunk-sized buffer.
package chunked
