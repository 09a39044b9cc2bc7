package volumeio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/pkg/driver"
)

// scratchPattern names the scratch files of staged devices in ScratchDir.
const scratchPattern = "volumeio-*.raw"

// Options configure an Attacher.
type Options struct {
	// ScratchDir holds the raw copies of staged devices (qcow2 on NFS, iSCSI LUNs); ""
	// is the system's temporary directory. It needs room for the largest volume staged.
	ScratchDir string
	// Mounter mounts the NFS shares of "nfs" connections; nil refuses them.
	Mounter ShareMounter
	// CephConf is the ceph.conf read for "rbd" connections (monitors, the user's keyring);
	// "" is librados's default search.
	CephConf string
	// Log receives one line per device opened and closed; nil discards.
	Log logrus.FieldLogger
}

// Attacher opens devices from connection info. It holds no state between calls: devices may
// be opened from several goroutines.
//
// A staged device (a qcow2 file on NFS, an iSCSI LUN) is a raw scratch file in ScratchDir:
// opened ReadOnly, it is a copy of the volume; opened ReadWrite, it starts as zeros of the
// volume's size and Close writes all of it onto the volume, which then reads exactly as
// the device did. A "local" device and a raw file on NFS are written in place.
type Attacher struct {
	opts Options
	log  logrus.FieldLogger
}

// New returns an Attacher with opts.
func New(opts Options) *Attacher {
	log := opts.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	return &Attacher{opts: opts, log: log}
}

// Open attaches the volume of info on this host in mode. Types it cannot open answer
// ErrUnsupported with the type named; connection info it cannot read answers an error
// naming the field.
func (a *Attacher) Open(ctx context.Context, info driver.ConnectionInfo, mode Mode) (Device, error) {
	if mode != ReadOnly && mode != ReadWrite {
		return nil, fmt.Errorf("open a %q volume: unknown mode %d", info.DriverVolumeType, mode)
	}
	data := connData(info.Data)
	var (
		dev Device
		err error
	)
	switch strings.ToLower(info.DriverVolumeType) {
	case "local":
		dev, err = a.openLocal(data, mode)
	case "nfs":
		dev, err = a.openNFS(ctx, data, mode)
	case "iscsi":
		dev, err = a.openISCSI(ctx, data, mode)
	case "rbd":
		dev, err = a.openRBD(ctx, data, mode)
	default:
		err = fmt.Errorf("%w: driver_volume_type %q", ErrUnsupported, info.DriverVolumeType)
	}
	log := reqctx.Log(ctx, a.log).WithFields(logrus.Fields{"driver_volume_type": info.DriverVolumeType, "mode": mode.String()})
	if vid, ok := info.Data["volume_id"].(string); ok {
		log = log.WithField("volume_id", vid)
	}
	if err != nil {
		log.WithError(err).Error("could not open the volume")
		return nil, fmt.Errorf("open a %q volume %s: %w", info.DriverVolumeType, mode, err)
	}
	if fd, ok := dev.(*fileDevice); ok {
		fd.log = log
	}
	log.WithField("size", dev.Size()).Info("volume opened")
	return dev, nil
}

// String names the mode.
func (m Mode) String() string {
	switch m {
	case ReadOnly:
		return "read-only"
	case ReadWrite:
		return "read-write"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// RemoveStale removes the scratch files a previous process left in ScratchDir (it died with
// devices open). Call it at service start, before any device is opened.
func (a *Attacher) RemoveStale() error {
	matches, err := filepath.Glob(filepath.Join(a.scratchDir(), scratchPattern))
	if err != nil {
		return fmt.Errorf("list stale scratch files: %w", err)
	}
	var errs []error
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		} else {
			a.log.WithField("path", m).Warn("stale scratch file removed")
		}
	}
	return errors.Join(errs...)
}

func (a *Attacher) scratchDir() string {
	if a.opts.ScratchDir == "" {
		return os.TempDir()
	}
	return a.opts.ScratchDir
}

// newScratch creates an empty scratch file of size bytes and answers its path.
func (a *Attacher) newScratch(size int64) (string, error) {
	f, err := os.CreateTemp(a.scratchDir(), scratchPattern)
	if err != nil {
		return "", fmt.Errorf("create a scratch file: %w", err)
	}
	path := f.Name()
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("size scratch file %s: %w", path, err)
	}
	return path, nil
}

// connData reads the fields of connection info decoded from JSON or built in Go.
type connData map[string]any

// str is the string field key; absent or null is "".
func (d connData) str(key string) (string, error) {
	switch v := d[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("connection info field %s is a %T, not a string", key, d[key])
}

// required is the string field key, which must be set.
func (d connData) required(key string) (string, error) {
	s, err := d.str(key)
	if err == nil && s == "" {
		err = fmt.Errorf("connection info has no %s", key)
	}
	return s, err
}

// integer is the number field key (a JSON number, a Go integer or a decimal string).
func (d connData) integer(key string) (int64, error) {
	switch v := d[key].(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	case float64:
		if v == float64(int64(v)) {
			return int64(v), nil
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, nil
		}
	case nil:
		return 0, fmt.Errorf("connection info has no %s", key)
	}
	return 0, fmt.Errorf("connection info field %s is not an integer: %v", key, d[key])
}

// strings is the list field key (of strings or numbers); absent or null is nil.
func (d connData) strings(key string) ([]string, error) {
	switch v := d[key].(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case float64:
				out = append(out, strconv.FormatFloat(e, 'f', -1, 64))
			case int:
				out = append(out, strconv.Itoa(e))
			default:
				return nil, fmt.Errorf("connection info field %s holds a %T", key, e)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("connection info field %s is a %T, not a list", key, d[key])
}
