// Package volumeio attaches a volume to the host it runs on, from the connection info a volume
// service answered (driver.ConnectionInfo), and reads and writes it as a device: what
// os-brick's connectors do for Cinder's backup service. The backup service (internal/backup)
// reads volumes and writes restores through it, never through the API.
//
// It holds:
//   - Device, the attached volume (ReaderAt, WriterAt, its size), and RBDDevice, a Device on
//     an RBD image that also names the image (RBDImage) for drivers that read RBD natively;
//   - Attacher, which opens a Device for each connection type Scoria's backends answer:
//     "local" (device_path: a file or block device on this host), "rbd" (librbd through
//     go-ceph; only in builds with the ceph tag), "nfs" (the file on a share mounted through
//     a ShareMounter; raw files directly, qcow2 through a raw copy in ScratchDir) and "iscsi"
//     (through qemu-img's libiscsi driver and a raw copy in ScratchDir, as this host may have
//     no kernel iSCSI initiator); New and Options (ScratchDir, the ShareMounter, ceph.conf);
//     RemoveStale, which removes the scratch files of a process that died;
//   - the readers of each type's connection info (os-brick's formats) and the funnel through
//     which qemu-img runs, CHAP secrets passed through a pipe, never on its command line.
package volumeio

import (
	"context"
	"errors"
	"io"
)

// Mode is how a device is opened.
type Mode int

const (
	// ReadOnly opens a device to read it (a backup).
	ReadOnly Mode = iota
	// ReadWrite opens a device to write it (a restore).
	ReadWrite
)

// Device is an attached volume. Writes reach the volume by Close at the latest (Close of a
// staged copy writes it back); a failed Close means the writes may not have.
type Device interface {
	io.ReaderAt
	io.WriterAt
	// Size is the device's size in bytes.
	Size() int64
	// Close detaches the device, writing back what a staged copy holds.
	Close() error
}

// RBDImage names an RBD image and how to reach its cluster, from rbd connection info.
type RBDImage struct {
	ClusterName string   // cluster_name, e.g. ceph
	Pool        string   // from name, pool/image
	Image       string   // from name
	Monitors    []string // host:port of each monitor (hosts, ports)
	User        string   // auth_username, "" without cephx
	Keyring     string   // the keyring's contents when the connection info carries them
}

// RBDDevice is a Device on an RBD image, which a driver may read natively (a snapshot diff).
type RBDDevice interface {
	Device
	RBD() RBDImage
}

// ShareMounter mounts a remote filesystem share (an NFS export, host:/path) on this host and
// answers the directory it is mounted at; a share already mounted is reused.
type ShareMounter interface {
	MountShare(ctx context.Context, share, options string) (dir string, err error)
}

// ErrUnsupported is the error of a connection type this build or host cannot open.
var ErrUnsupported = errors.New("connection type not supported here")
