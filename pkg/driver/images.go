package driver

import (
	"context"
	"time"
)

// ImageFile is an image in a local file, as the volume service hands it to a driver or
// asks one for it: its path and its format as qemu-img names it (raw, qcow2, vmdk, vdi, vpc,
// vhdx, …).
type ImageFile struct {
	Path   string
	Format string
}

// ImageCopier is a backend that writes images into its volumes and reads its volumes out as
// images itself (Cinder's copy_image_to_volume, copy_volume_to_image), e.g. through its own
// client library. A LocalDevice backend need not be one: the volume service converts straight
// to and from its DevicePath with qemu-img. Both must be idempotent.
type ImageCopier interface {
	// CopyImageToVolume writes the image in src over the whole of volume v, which exists and
	// is at least as large as the image's virtual size; the rest of v reads as zeros after.
	CopyImageToVolume(ctx context.Context, v Volume, src ImageFile) error
	// CopyVolumeToImage writes the whole of volume v into a new file dst.Path in dst.Format.
	CopyVolumeToImage(ctx context.Context, v Volume, dst ImageFile) error
}

// Image is what a backend is told of a Glance image it may clone a volume from.
type Image struct {
	ID              string
	DiskFormat      string // Glance's disk_format: raw, qcow2, …
	ContainerFormat string // Glance's container_format: bare, …
	Size            int64  // bytes of the image's data
	VirtualSize     int64  // bytes of the disk it holds (0: unknown)
	// Locations are the image's location URLs (direct_url first), e.g.
	// rbd://<fsid>/<pool>/<image>/<snapshot> for Glance's RBD store.
	Locations []string
	UpdatedAt time.Time
}

// ImageCloner is a backend that can make a volume from an image without copying its data,
// such as an RBD backend cloning the snapshot of an image that Glance keeps in the same Ceph
// cluster (Cinder's clone_image). CloneImage returns ok false, having made nothing, when it
// cannot clone this image (another cluster, a format that is not raw, no location it can
// read): the volume service then downloads the image instead. The volume it makes has
// v.SizeGiB; like Create it returns the volume's driver data and is idempotent.
type ImageCloner interface {
	CloneImage(ctx context.Context, v Volume, img Image) (d Data, ok bool, err error)
}
