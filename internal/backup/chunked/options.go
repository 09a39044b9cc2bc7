package chunked

import (
	"errors"
	"fmt"
)

// Cinder's defaults (cinder/backup/drivers/posix.py, cinder/backup/chunkeddriver.py).
const (
	// DefaultSHABlockSize is backup_sha_block_size_bytes' default: the size of the
	// blocks whose sha256 an incremental backup compares.
	DefaultSHABlockSize = 32768
	// DefaultFileSize is backup_file_size's default (61035 * 32768), a multiple of
	// DefaultSHABlockSize close to a characteristic file system maximum.
	DefaultFileSize = 61035 * DefaultSHABlockSize
	// DefaultCompressionAlgorithm is backup_compression_algorithm's default.
	DefaultCompressionAlgorithm = "zlib"
)

// ErrInvalid marks bad options or bad input to an operation.
var ErrInvalid = errors.New("invalid backup request")

// Options are the chunked format's settings, under Cinder's option names.
type Options struct {
	// FileSize is backup_file_size (default 1999994880): the largest object a backup is
	// cut into, and the buffer a backup reads the volume through. It must be a multiple
	// of SHABlockSize.
	FileSize int64
	// SHABlockSize is backup_sha_block_size_bytes (default 32768): the granularity at
	// which incremental backups track changes.
	SHABlockSize int64
	// CompressionAlgorithm is backup_compression_algorithm (default zlib; case-insensitive):
	// none/off/no, zlib/gzip, bz2/bzip2, zstd.
	CompressionAlgorithm string
}

// DefaultOptions answers Cinder's defaults.
func DefaultOptions() Options {
	return Options{
		FileSize:             DefaultFileSize,
		SHABlockSize:         DefaultSHABlockSize,
		CompressionAlgorithm: DefaultCompressionAlgorithm,
	}
}

// Validate checks the options as Cinder does at a backup's start (the multiple-of rule)
// and at the driver's start (a known algorithm).
func (o Options) Validate() error {
	if o.SHABlockSize <= 0 {
		return fmt.Errorf("%w: backup_sha_block_size_bytes must be positive, not %d", ErrInvalid, o.SHABlockSize)
	}
	if o.FileSize <= 0 {
		return fmt.Errorf("%w: backup_file_size must be positive, not %d", ErrInvalid, o.FileSize)
	}
	if o.FileSize%o.SHABlockSize != 0 {
		return fmt.Errorf("%w: backup_file_size (%d) is not a multiple of backup_sha_block_size_bytes (%d): "+
			"chunk size is not multiple of block size for creating hash", ErrInvalid, o.FileSize, o.SHABlockSize)
	}
	if _, err := NormalizeAlgorithm(o.CompressionAlgorithm); err != nil {
		return err
	}
	return nil
}
