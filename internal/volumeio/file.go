package volumeio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/sirupsen/logrus"
)

// errReadOnly is the error of a write to a device opened ReadOnly.
var errReadOnly = errors.New("device opened read-only")

// fileDevice is a Device on an open file or block device. A staged device also writes its
// file back (writeBack) and removes it (scratch) at Close.
type fileDevice struct {
	f        *os.File
	size     int64
	readOnly bool

	scratch   string       // the scratch file removed by Close; "" for the volume itself
	writeBack func() error // run by Close after the file is closed, before it is removed

	log logrus.FieldLogger // set by Open: Close logs one line

	once     sync.Once
	closeErr error
}

// openFile opens path (a regular file or a block device) in mode; its size is where a seek
// to its end lands, which for a block device is its size (BLKGETSIZE64).
func openFile(path string, mode Mode) (*fileDevice, error) {
	flag := os.O_RDONLY
	if mode == ReadWrite {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() && (fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0) {
		err = fmt.Errorf("%s is neither a regular file nor a block device (%s)", path, fi.Mode().Type())
	}
	var size int64
	if err == nil {
		size, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("size %s: %w", path, err)
	}
	return &fileDevice{f: f, size: size, readOnly: mode == ReadOnly}, nil
}

func (d *fileDevice) ReadAt(p []byte, off int64) (int, error) {
	if off >= d.size {
		return 0, io.EOF
	}
	if rest := d.size - off; int64(len(p)) > rest {
		n, err := d.f.ReadAt(p[:rest], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return d.f.ReadAt(p, off)
}

// WriteAt writes p at off; a write past the device's end is cut there and fails, as a
// block device's would, rather than growing a file.
func (d *fileDevice) WriteAt(p []byte, off int64) (int, error) {
	if d.readOnly {
		return 0, errReadOnly
	}
	if off < 0 {
		return 0, fmt.Errorf("write at negative offset %d", off)
	}
	if off >= d.size && len(p) > 0 {
		return 0, fmt.Errorf("write at %d: past the end of the %d-byte device", off, d.size)
	}
	if rest := d.size - off; int64(len(p)) > rest {
		n, err := d.f.WriteAt(p[:rest], off)
		if err == nil {
			err = fmt.Errorf("write of %d bytes at %d: past the end of the %d-byte device", len(p), off, d.size)
		}
		return n, err
	}
	return d.f.WriteAt(p, off)
}

func (d *fileDevice) Size() int64 { return d.size }

// Close closes the file once; a staged device's file is then written back and removed
// whatever happened. Later calls answer the first one's error.
func (d *fileDevice) Close() error {
	d.once.Do(func() {
		err := d.f.Close()
		if err == nil && d.writeBack != nil {
			err = d.writeBack()
		}
		if d.scratch != "" {
			if rerr := os.Remove(d.scratch); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = errors.Join(err, fmt.Errorf("remove scratch file: %w", rerr))
			}
		}
		d.closeErr = err
		if d.log != nil {
			log := d.log.WithField("staged", d.scratch != "")
			if err != nil {
				log.WithError(err).Error("could not close the volume")
			} else {
				log.Info("volume closed")
			}
		}
	})
	return d.closeErr
}
