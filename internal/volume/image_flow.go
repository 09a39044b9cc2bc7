package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/qemuimg"
)

// What the image flows (image_create.go, image_upload.go, image_reimage.go) share: who they
// reach Glance as, why one failed (imageFailure, turned into the user's message), and the
// temporary files of image_conversion_dir.

// Admin metadata keys the image flows keep with a volume so that a recovery after a crash
// knows what was in flight.
const (
	// UploadImageIDKey is the Glance image an os-volume_upload_image writes.
	UploadImageIDKey = resource.AdminKeyUploadImage
	// createFromImageKey marks a volume in downloading that is being created from an image
	// (its value is the image id), as against one being re-imaged: a recovery creates the
	// first again and fails the second, whose old data is already partly overwritten.
	createFromImageKey = "scoria_create_from_image"
)

// tempPrefix begins the name of every temporary image file; the backend's host ends it, so
// that a backend's recovery removes its own leftovers only (image_conversion_dir is shared).
const tempPrefix = "scoria-image-"

// imageFailure is why an image flow failed for good: Cinder's detail id and the user's
// sentence ("" for the detail's stock text).
type imageFailure struct {
	detail string
	text   string
	cause  error
}

func (f *imageFailure) Error() string {
	if f.cause == nil {
		return f.text
	}
	return f.cause.Error()
}

func (f *imageFailure) Unwrap() error { return f.cause }

// failImage is an imageFailure with a sentence.
func failImage(detail string, cause error, format string, args ...any) error {
	return &imageFailure{detail: detail, text: fmt.Sprintf(format, args...), cause: cause}
}

// asImageFailure is err as the failure the user is told of: an imageFailure as it is, a
// Glance error with Cinder's sentence for it, anything else an unknown error.
func asImageFailure(err error, imageID string) *imageFailure {
	var f *imageFailure
	if errors.As(err, &f) {
		return f
	}
	switch {
	case errors.Is(err, glance.ErrNotFound):
		return &imageFailure{detail: resource.DetailUnknownError, text: fmt.Sprintf("Image %s could not be found.", imageID), cause: err}
	case errors.Is(err, glance.ErrForbidden):
		return &imageFailure{detail: resource.DetailUnknownError, text: fmt.Sprintf("Not authorized for image %s.", imageID), cause: err}
	case errors.Is(err, glance.ErrUnavailable), errors.Is(err, glance.ErrNoEndpoint):
		return &imageFailure{detail: resource.DetailUnknownError, text: fmt.Sprintf("Connection to the image service failed (image %s); try again later.", imageID), cause: err}
	case errors.Is(err, glance.ErrChecksum):
		return &imageFailure{detail: resource.DetailUnknownError, text: fmt.Sprintf("The data of image %s does not match its checksum.", imageID), cause: err}
	case errors.Is(err, glance.ErrNoData):
		return &imageFailure{detail: resource.DetailUnknownError, text: fmt.Sprintf("Image %s has no data.", imageID), cause: err}
	case errors.Is(err, qemuimg.ErrUnsafe):
		return &imageFailure{detail: resource.DetailUnknownError, text: fmt.Sprintf("Image %s is unacceptable: %s", imageID, strings.TrimPrefix(err.Error(), qemuimg.ErrUnsafe.Error()+": ")), cause: err}
	}
	return &imageFailure{detail: resource.DetailUnknownError, cause: err}
}

// glanceAuth is who the volume service reaches Glance as for the request in ctx: the
// caller's token, else the service user's (a request without one, a recovery), the service
// token besides when SendServiceToken, and the request id as the global request id.
func (m *Manager) glanceAuth(ctx context.Context) (glance.Auth, error) {
	rc := reqctx.From(ctx)
	a := glance.Auth{Token: rc.AuthToken, GlobalRequestID: rc.RequestID}
	im := m.Images
	if im.ServiceToken == nil || (a.Token != "" && !im.SendServiceToken) {
		return a, nil
	}
	st, err := im.ServiceToken(ctx)
	if err != nil {
		return a, failImage(resource.DetailUnknownError, fmt.Errorf("service token: %w", err),
			"The volume service could not authenticate to the image service.")
	}
	if a.Token == "" {
		a.Token = st
	}
	if im.SendServiceToken {
		a.ServiceToken = st
	}
	return a, nil
}

// noImages is the failure of an image flow on a backend that has no image service.
func noImages() error {
	return failImage(resource.DetailUnknownError, errors.New("the volume service has no image service (Images unset)"),
		"The volume service is not configured to use the image service.")
}

// conversionDir is image_conversion_dir, made if missing.
func (m *Manager) conversionDir() (string, error) {
	dir := m.Images.ConversionDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "scoria-conversion")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", failImage(resource.DetailUnknownError, fmt.Errorf("image_conversion_dir: %w", err),
			"The volume service cannot use its image conversion directory.")
	}
	return dir, nil
}

// tempSuffix ends this backend's temporary file names.
func (m *Manager) tempSuffix() string {
	return "." + strings.NewReplacer("/", "_", string(os.PathSeparator), "_").Replace(m.Host)
}

// tempImage makes an empty temporary file in image_conversion_dir for what (a volume or image
// id), after checking, as Cinder's check_available_space, that need bytes fit there. The
// caller removes it.
func (m *Manager) tempImage(what, imageID string, need int64) (string, error) {
	dir, err := m.conversionDir()
	if err != nil {
		return "", err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free <= need { //nolint:gosec // sizes of a real filesystem
		return "", failImage(resource.DetailNotEnoughSpaceForImage, fmt.Errorf("%s: %d bytes free, %d needed", dir, free, need),
			"Image %s size exceeded available disk space: There is no space on %s to convert image. Requested: %d, available: %d.",
			imageID, dir, need, free)
	}
	f, err := os.CreateTemp(dir, tempPrefix+what+"-*"+m.tempSuffix())
	if err != nil {
		return "", fmt.Errorf("temporary file in %s: %w", dir, err)
	}
	return f.Name(), f.Close()
}

// cleanTempImages removes the temporary image files this backend left in
// image_conversion_dir when it stopped (Cinder's cleanup_temporary_file at start).
func (m *Manager) cleanTempImages(log logrus.FieldLogger) {
	if m.Images == nil {
		return
	}
	dir := m.Images.ConversionDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "scoria-conversion")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.WithError(err).Warn("could not list image_conversion_dir for leftovers")
		}
		return
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, tempPrefix) && strings.HasSuffix(n, m.tempSuffix()) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				log.WithError(err).WithField("file", n).Warn("could not remove a leftover temporary image")
				continue
			}
			log.WithField("file", n).Info("removed a leftover temporary image")
		}
	}
}

// download writes image img's data into the file path (streamed: memory stays bounded). A
// full filesystem is Cinder's ImageTooBig.
func (m *Manager) download(ctx context.Context, a glance.Auth, img *glance.Image, path string) (int64, error) {
	body, err := m.openDirect(ctx, img)
	if body == nil {
		body, err = m.Images.Glance.Download(ctx, a, img.ID)
	}
	if err != nil {
		return 0, err
	}
	defer body.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	n, err := io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.ENOSPC) {
		return n, failImage(resource.DetailNotEnoughSpaceForImage, err,
			"Image %s size exceeded available disk space: No space left in image_conversion_dir path (%s) while fetching image %s.",
			img.ID, filepath.Dir(path), img.ID)
	}
	if err != nil {
		return n, fmt.Errorf("download image %s: %w", img.ID, err)
	}
	return n, nil
}

// openDirect opens img's data where a location of a scheme allowed_direct_url_schemes names
// lets the volume service read it itself, as Cinder's download does: file:// locations
// (Glance's file store on a filesystem this host shares). nil, with nothing to report, when
// none can be read: the caller downloads through Glance.
func (m *Manager) openDirect(ctx context.Context, img *glance.Image) (io.ReadCloser, error) {
	if !slices.Contains(m.Images.AllowedDirectURLSchemes, "file") {
		return nil, nil
	}
	urls := []string{img.DirectURL}
	for _, l := range img.Locations {
		urls = append(urls, l.URL)
	}
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "image_id": img.ID})
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "file" || u.Path == "" {
			continue
		}
		f, err := os.Open(u.Path)
		if err != nil {
			log.WithError(err).Info("image location not readable here; downloading through Glance")
			continue
		}
		log.WithField("path", u.Path).Info("image read from its file location (allowed_direct_url_schemes)")
		return f, nil
	}
	return nil, nil
}

// checkImage refuses, as Cinder, an image a volume of sizeGiB cannot be made from: not
// active (deactivated, still queued), or larger than the volume (min_disk, virtual size).
func checkImage(img *glance.Image, sizeGiB int) error {
	if img.Status != glance.StatusActive {
		return failImage(resource.DetailUnknownError, fmt.Errorf("image %s is %s", img.ID, img.Status), "Image %s is not active.", img.ID)
	}
	if img.MinDisk > sizeGiB {
		return failImage(resource.DetailUnknownError, fmt.Errorf("image %s min_disk %d > %d", img.ID, img.MinDisk, sizeGiB),
			"Image %s is unacceptable: Image minDisk size %dGB is larger than the volume size %dGB.", img.ID, img.MinDisk, sizeGiB)
	}
	if img.VirtualSize != nil {
		if err := checkVirtualSize(img.ID, *img.VirtualSize, sizeGiB); err != nil {
			return err
		}
	}
	return nil
}

// checkVirtualSize is Cinder's check_virtual_size: the image's disk, in whole GiB, fits.
func checkVirtualSize(imageID string, virtual int64, sizeGiB int) error {
	gib := (virtual + (1<<30 - 1)) >> 30
	if gib > int64(sizeGiB) {
		return failImage(resource.DetailUnknownError, fmt.Errorf("image %s virtual size %d > %d GiB", imageID, virtual, sizeGiB),
			"Image %s is unacceptable: Image virtual size is %dGB and doesn't fit in a volume of size %dGB.", imageID, gib, sizeGiB)
	}
	return nil
}

// fetchImage downloads img into a temporary file and checks it as Cinder's
// fetch_to_volume_format does: the data is of the declared disk_format with no backing or
// data file, its virtual size fits a volume of sizeGiB, and, with image_conversion_disable,
// it is raw. It returns the file (the caller removes it, whatever happens) and its format.
func (m *Manager) fetchImage(ctx context.Context, log logrus.FieldLogger, a glance.Auth, img *glance.Image, sizeGiB int) (driver.ImageFile, error) {
	if img.ContainerFormat == "compressed" {
		return driver.ImageFile{}, failImage(resource.DetailUnknownError, errors.New("container_format compressed"),
			"Image %s is unacceptable: Image compression disallowed, but container_format is compressed.", img.ID)
	}
	if m.Images.ConversionDisable && qemuimg.FormatOf(img.DiskFormat) != "raw" {
		return driver.ImageFile{}, failImage(resource.DetailUnknownError, fmt.Errorf("image_conversion_disable and disk_format %s", img.DiskFormat),
			"Image Conversion disallowed for image %s: image conversion is disabled and the image's disk_format is %s, not raw.", img.ID, img.DiskFormat)
	}
	var need int64
	if img.Size != nil {
		need = *img.Size
	}
	path, err := m.tempImage("download-"+img.ID, img.ID, need)
	if err != nil {
		return driver.ImageFile{}, err
	}
	f := driver.ImageFile{Path: path}
	n, err := m.download(ctx, a, img, path)
	if err != nil {
		return f, err
	}
	log.WithFields(logrus.Fields{"image_id": img.ID, "bytes": n}).Info("image downloaded")
	info, err := qemuimg.CheckImage(ctx, path, img.DiskFormat)
	if err != nil {
		if errors.Is(err, qemuimg.ErrUnsafe) {
			return f, err
		}
		return f, failImage(resource.DetailUnknownError, err, "Image %s is unacceptable: 'qemu-img info' parsing failed.", img.ID)
	}
	if err := checkVirtualSize(img.ID, info.VirtualSize, sizeGiB); err != nil {
		return f, err
	}
	f.Format = info.Format
	return f, nil
}

// writeImage writes src over volume dv: through the driver when it copies images itself,
// else with qemu-img into its local device (raw); dense writes every block (a re-image,
// whose volume holds old data).
func (m *Manager) writeImage(ctx context.Context, dv driver.Volume, src driver.ImageFile, dense bool) error {
	if c, ok := m.Driver.(driver.ImageCopier); ok {
		if err := c.CopyImageToVolume(ctx, dv, src); err != nil {
			return failImage(resource.DetailUnknownError, err, "The backend could not write the image into the volume.")
		}
		return nil
	}
	ld, ok := m.Driver.(driver.LocalDevice)
	if !ok {
		return failImage(resource.DetailUnknownError, errors.New("driver is neither an ImageCopier nor a LocalDevice"),
			"The backend cannot write images into volumes.")
	}
	dst := driver.ImageFile{Path: ld.DevicePath(dv), Format: "raw"}
	if err := qemuimg.Convert(ctx, src, dst, qemuimg.Options{TargetExists: true, Dense: dense}); err != nil {
		return failImage(resource.DetailUnknownError, err, "The image could not be converted into the volume.")
	}
	if dense {
		info, err := qemuimg.Inspect(ctx, src.Path, src.Format)
		if err != nil {
			return fmt.Errorf("virtual size of %s: %w", src.Path, err)
		}
		if err := zeroFrom(dst.Path, info.VirtualSize); err != nil {
			return failImage(resource.DetailUnknownError, err, "The rest of the volume could not be cleared after the image.")
		}
	}
	return nil
}

// zeroFrom makes the device or file at path read as zeros from offset off to its end: holes
// punched in a file, zeros written on a block device.
func zeroFrom(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("size of %s: %w", path, err)
	}
	if off >= end {
		return nil
	}
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, end-off); err == nil {
		return f.Sync()
	}
	zeros := make([]byte, 1<<20)
	for pos := off; pos < end; {
		n := min(int64(len(zeros)), end-pos)
		if _, err := f.WriteAt(zeros[:n], pos); err != nil {
			return fmt.Errorf("zero %s at %d: %w", path, pos, err)
		}
		pos += n
	}
	return f.Sync()
}

// removeTemp removes a temporary image file, logging a failure.
func removeTemp(log logrus.FieldLogger, path string) {
	if path == "" {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.WithError(err).WithField("file", path).Warn("could not remove a temporary image")
	}
}

// driverImage is img as a backend is told of it.
func driverImage(img *glance.Image) driver.Image {
	di := driver.Image{ID: img.ID, DiskFormat: img.DiskFormat, ContainerFormat: img.ContainerFormat, UpdatedAt: img.UpdatedAt}
	if img.Size != nil {
		di.Size = *img.Size
	}
	if img.VirtualSize != nil {
		di.VirtualSize = *img.VirtualSize
	}
	if img.DirectURL != "" {
		di.Locations = append(di.Locations, img.DirectURL)
	}
	for _, l := range img.Locations {
		if l.URL != img.DirectURL {
			di.Locations = append(di.Locations, l.URL)
		}
	}
	return di
}

// refOf is a pointer to v.
func refOf[T any](v T) *T { return &v }
