package chunked

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"strings"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// The canonical algorithm names; Cinder records in each object's metadata the name as
// configured (lower-cased), aliases included, and reads any of them back.
const (
	AlgorithmNone = "none"
	AlgorithmZlib = "zlib"
	AlgorithmBZ2  = "bz2"
	AlgorithmZstd = "zstd"
)

// NormalizeAlgorithm maps a backup_compression_algorithm value (any case, Cinder's
// aliases: off and no for none, gzip for zlib, bzip2 for bz2) to its canonical name.
func NormalizeAlgorithm(name string) (string, error) {
	switch strings.ToLower(name) {
	case "none", "off", "no":
		return AlgorithmNone, nil
	case "zlib", "gzip":
		return AlgorithmZlib, nil
	case "bz2", "bzip2":
		return AlgorithmBZ2, nil
	case "zstd":
		return AlgorithmZstd, nil
	}
	return "", fmt.Errorf("%w: unsupported compression algorithm: %q (known: none, off, no, zlib, gzip, bz2, bzip2, zstd)",
		ErrInvalid, name)
}

// errTooBig stops a compression whose output would not be smaller than its input.
var errTooBig = errors.New("compressed output not smaller than input")

// capWriter is a bytes.Buffer that refuses to grow to limit bytes or more.
type capWriter struct {
	buf   *bytes.Buffer
	limit int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) >= w.limit {
		return 0, errTooBig
	}
	return w.buf.Write(p)
}

// compressor compresses one chunk at a time into a reused buffer.
type compressor struct {
	canonical string
	buf       bytes.Buffer
	zbuf      []byte
	zstd      *zstd.Encoder
	// zlib and bzip2 are reused from chunk to chunk (Reset), not made anew.
	zlib  *zlib.Writer
	bzip2 *dsbzip2.Writer
}

func newCompressor(canonical string) (*compressor, error) {
	c := &compressor{canonical: canonical}
	if canonical == AlgorithmZstd {
		// Level 3, python-zstd's default; one goroutine, the frame carries its size.
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		c.zstd = enc
	}
	return c, nil
}

func (c *compressor) close() {
	if c.zstd != nil {
		_ = c.zstd.Close()
	}
}

// compress answers the chunk's compressed form, or ok false when compression is off or
// did not make the chunk smaller (Cinder then stores the chunk as it is, under "none").
// The answer is valid until the next call.
func (c *compressor) compress(data []byte) (out []byte, ok bool, err error) {
	if c.canonical == AlgorithmNone || len(data) == 0 {
		return nil, false, nil
	}
	c.buf.Reset()
	w := &capWriter{buf: &c.buf, limit: len(data)}
	switch c.canonical {
	case AlgorithmZlib:
		// Level 6, Python's zlib.compress default; zlib framing as Python writes it.
		// klauspost's deflate (the standard library's API, about three times faster) writes
		// other bytes than Python's for the same data; any zlib reader reads them (Python's
		// does: python_test.go).
		if c.zlib == nil {
			if c.zlib, err = zlib.NewWriterLevel(w, 6); err != nil {
				return nil, false, fmt.Errorf("zlib writer: %w", err)
			}
		} else {
			c.zlib.Reset(w)
		}
		err = writeAndClose(c.zlib, data)
	case AlgorithmBZ2:
		// Level 9, Python's bz2.compress default.
		if c.bzip2 == nil {
			if c.bzip2, err = dsbzip2.NewWriter(w, &dsbzip2.WriterConfig{Level: 9}); err != nil {
				return nil, false, fmt.Errorf("bzip2 writer: %w", err)
			}
		} else if err = c.bzip2.Reset(w); err != nil {
			return nil, false, fmt.Errorf("bzip2 writer: %w", err)
		}
		err = writeAndClose(c.bzip2, data)
	case AlgorithmZstd:
		out := c.zstd.EncodeAll(data, c.zbuf[:0])
		c.zbuf = out
		if len(out) >= len(data) {
			return nil, false, nil
		}
		return out, true, nil
	default:
		return nil, false, fmt.Errorf("%w: unsupported compression algorithm: %q", ErrInvalid, c.canonical)
	}
	if errors.Is(err, errTooBig) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s compression: %w", c.canonical, err)
	}
	return c.buf.Bytes(), true, nil
}

func writeAndClose(w io.WriteCloser, data []byte) error {
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// decompressor opens readers of compressed objects.
type decompressor struct {
	zstd *zstd.Decoder
}

func (d *decompressor) close() {
	if d.zstd != nil {
		d.zstd.Close()
	}
}

// reader answers a reader of r's decompressed bytes; algorithm is the name recorded in
// the metadata (aliases allowed). The caller closes the answer.
func (d *decompressor) reader(algorithm string, r io.Reader) (io.ReadCloser, error) {
	canonical, err := NormalizeAlgorithm(algorithm)
	if err != nil {
		return nil, err
	}
	switch canonical {
	case AlgorithmNone:
		return io.NopCloser(r), nil
	case AlgorithmZlib:
		zr, err := zlib.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("zlib: %w", err)
		}
		return zr, nil
	case AlgorithmBZ2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case AlgorithmZstd:
		if d.zstd == nil {
			dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, fmt.Errorf("zstd decoder: %w", err)
			}
			d.zstd = dec
		}
		if err := d.zstd.Reset(r); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return io.NopCloser(d.zstd), nil
	}
	return nil, fmt.Errorf("%w: unsupported compression algorithm: %q", ErrInvalid, algorithm)
}
