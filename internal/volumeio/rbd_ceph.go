//go:build ceph

package volumeio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// openRBD opens os-brick's "rbd" connection through librbd: it connects as auth_username
// to the monitors of the connection info (else those of CephConf), with the key of the
// keyring it carries (else the user's keyring that CephConf names), and opens the image.
func (a *Attacher) openRBD(ctx context.Context, data connData, mode Mode) (Device, error) {
	img, err := parseRBD(data)
	if err != nil {
		return nil, err
	}
	conn, err := a.radosConnect(ctx, img)
	if err != nil {
		return nil, err
	}
	ioctx, err := conn.OpenIOContext(img.Pool)
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rados: open pool %q: %w", img.Pool, err)
	}
	var image *rbd.Image
	if mode == ReadOnly {
		image, err = rbd.OpenImageReadOnly(ioctx, img.Image, rbd.NoSnapshot)
	} else {
		image, err = rbd.OpenImage(ioctx, img.Image, rbd.NoSnapshot)
	}
	var size uint64
	if err == nil {
		if size, err = image.GetSize(); err != nil {
			_ = image.Close()
		}
	}
	if err != nil {
		ioctx.Destroy()
		conn.Shutdown()
		return nil, fmt.Errorf("rbd: open image %s/%s: %w", img.Pool, img.Image, err)
	}
	return &rbdDevice{conn: conn, ioctx: ioctx, image: image, size: int64(size), readOnly: mode == ReadOnly, info: img}, nil
}

// radosConnect connects to img's cluster within ctx. librados cannot be cancelled: a
// connection that arrives after ctx is done is shut down.
func (a *Attacher) radosConnect(ctx context.Context, img RBDImage) (*rados.Conn, error) {
	user := img.User
	if user == "" {
		user = "admin"
	}
	conn, err := rados.NewConnWithClusterAndUser(img.ClusterName, "client."+user)
	if err != nil {
		return nil, fmt.Errorf("rados: new connection as client.%s: %w", user, err)
	}
	if a.opts.CephConf != "" {
		err = conn.ReadConfigFile(a.opts.CephConf)
	} else if err = conn.ReadDefaultConfigFile(); err != nil && len(img.Monitors) > 0 {
		err = nil // the connection info names the monitors: no ceph.conf is needed
	}
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rados: read ceph.conf %q: %w", a.opts.CephConf, err)
	}
	if len(img.Monitors) > 0 {
		if err := conn.SetConfigOption("mon_host", strings.Join(img.Monitors, ",")); err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rados: set mon_host: %w", err)
		}
	}
	if img.Keyring != "" {
		key := keyringKey(img.Keyring)
		if key == "" {
			conn.Shutdown()
			return nil, errors.New("the keyring of the connection info holds no key")
		}
		if err := conn.SetConfigOption("key", key); err != nil {
			conn.Shutdown()
			return nil, errors.New("rados: set the key of the connection info's keyring")
		}
	}
	done := make(chan error, 1)
	go func() { done <- conn.Connect() }()
	select {
	case err := <-done:
		if err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rados: connect to cluster %s as client.%s: %w", img.ClusterName, user, err)
		}
		return conn, nil
	case <-ctx.Done():
		go func() {
			<-done
			conn.Shutdown()
		}()
		return nil, fmt.Errorf("rados: connect to cluster %s as client.%s: %w", img.ClusterName, user, ctx.Err())
	}
}

var _ RBDDevice = (*rbdDevice)(nil)

// rbdDevice is an open RBD image with its own connection.
type rbdDevice struct {
	conn     *rados.Conn
	ioctx    *rados.IOContext
	image    *rbd.Image
	size     int64
	readOnly bool
	info     RBDImage

	once     sync.Once
	closeErr error
}

func (d *rbdDevice) ReadAt(p []byte, off int64) (int, error) {
	if off >= d.size {
		return 0, io.EOF
	}
	n, err := d.image.ReadAt(p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (d *rbdDevice) WriteAt(p []byte, off int64) (int, error) {
	if d.readOnly {
		return 0, errReadOnly
	}
	if off < 0 || off+int64(len(p)) > d.size {
		return 0, fmt.Errorf("write of %d bytes at %d: past the end of the %d-byte image", len(p), off, d.size)
	}
	return d.image.WriteAt(p, off)
}

func (d *rbdDevice) Size() int64 { return d.size }

// RBD names the image; Keyring is what the connection info carried.
func (d *rbdDevice) RBD() RBDImage { return d.info }

// Close flushes and closes the image and the connection, once.
func (d *rbdDevice) Close() error {
	d.once.Do(func() {
		var err error
		if !d.readOnly {
			err = d.image.Flush()
		}
		err = errors.Join(err, d.image.Close())
		d.ioctx.Destroy()
		d.conn.Shutdown()
		if err != nil {
			d.closeErr = fmt.Errorf("rbd: close image %s/%s: %w", d.info.Pool, d.info.Image, err)
		}
	})
	return d.closeErr
}
