package volume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// The image-volume cache (Cinder's image_volume_cache_*): a volume of each image, owned by the
// internal tenant, cloned for the next volumes of that image on the same pool.
//
// A cache volume is an ordinary volume of the internal project (named image-<image id>, its
// source_volid the volume it was cloned from, charged to the internal project's quota,
// bootable, with the image's metadata and admin metadata readonly=True, as Cinder's
// _clone_image_volume makes it): admins see it and may delete it, which removes its entry.
// It is made in three steps, each safe to crash after:
//  1. its row (creating) and its entry, in one transaction (db CreateImageCacheVolume): the
//     unique (host, image_id) refuses a second cache volume of the same image;
//  2. its storage, a clone of the volume just made from the image (under its volume lock, so
//     that a delete waits for it);
//  3. available, with its driver data.
//
// A crash between 1 and 3 leaves the cache volume in creating: Recover makes it again like any
// volume in creating with a source volume (createFromSource clones the image's volume again)
// or, when that volume is no longer there or usable, sets it to error; an entry whose volume
// is in error is evicted (volume deleted) by the next create of that image. An entry whose
// volume is in creating is never cloned.

// imageCacheStore is what the image-volume cache needs of the database; Store embeds it.
type imageCacheStore interface {
	// ImageCacheEntry is the entry of an image on a pool (host@backend#pool) with its
	// volume's status; nil when there is none.
	ImageCacheEntry(ctx context.Context, host, imageID string) (*resource.ImageCacheEntry, error)
	// ImageCacheEntries are a pool's entries, most recently used first.
	ImageCacheEntries(ctx context.Context, host string) ([]resource.ImageCacheEntry, error)
	TouchImageCacheEntry(ctx context.Context, id int64) error
	// CreateImageCacheVolume inserts a cache volume and its entry in one transaction;
	// resource.ErrConflict when the image is cached on that pool already.
	CreateImageCacheVolume(ctx context.Context, v *resource.Volume, e *resource.ImageCacheEntry) error
}

// imageCache returns the backend's cache options and its cloner when the cache is on: enabled,
// an internal tenant to own its volumes (Cinder refuses the cache without one), and a driver
// that clones volumes.
func (m *Manager) imageCache(log logrus.FieldLogger) (ImageCacheOptions, driver.Cloner, bool) {
	if m.Images == nil || !m.Images.Cache.Enabled {
		return ImageCacheOptions{}, nil, false
	}
	opts := m.Images.Cache
	if opts.ProjectID == "" || opts.UserID == "" {
		m.noInternalTenant.Do(func() {
			log.Warn("image_volume_cache_enabled is set but cinder_internal_tenant_project_id or _user_id is not: the image-volume cache is not used")
		})
		return ImageCacheOptions{}, nil, false
	}
	cloner, ok := m.Driver.(driver.Cloner)
	if !ok {
		return ImageCacheOptions{}, nil, false
	}
	return opts, cloner, true
}

// sameImageTime reports whether an entry's image_updated_at is the image's updated_at, as
// the database keeps times (UTC, microseconds).
func sameImageTime(cached, updated time.Time) bool {
	return cached.UTC().Truncate(time.Microsecond).Equal(updated.UTC().Truncate(time.Microsecond))
}

// evictable are the statuses of a cache volume that an eviction deletes: done, or failed.
var evictable = []string{resource.StatusAvailable, resource.StatusError, resource.StatusErrorDeleting}

// createFromImageCache makes the storage of v (dv) by cloning the cache's volume of img on
// this backend, and returns its driver data; hit is false, having made nothing, when the
// cache is off, the backend cannot clone, or holds no current volume of img.
//
// As Cinder: an entry of an image updated since it was cached is evicted (its volume deleted)
// and is a miss; an encrypted volume never uses the cache. A volume smaller than the cache
// volume is a miss too (Cinder's cache volumes have the image's virtual size, so no volume of
// the image is smaller; ours have the size of the first volume made from the image, and a
// clone cannot shrink). A clone that fails is a miss after what it made is removed.
func (m *Manager) createFromImageCache(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv driver.Volume, img *glance.Image) (p resource.ProviderData, hit bool, err error) {
	_, cloner, ok := m.imageCache(log)
	if !ok || v.EncryptionKeyID != "" {
		return resource.ProviderData{}, false, nil
	}
	log = log.WithField("image_id", img.ID)
	e, err := m.Store.ImageCacheEntry(ctx, v.Host, img.ID)
	if err != nil {
		return resource.ProviderData{}, false, fmt.Errorf("look the image up in the image-volume cache: %w", err)
	}
	miss := func(why string) (resource.ProviderData, bool, error) {
		log.WithField("reason", why).Info("image-volume cache miss")
		return resource.ProviderData{}, false, nil
	}
	switch {
	case e == nil:
		return miss("not cached")
	case e.VolumeID == v.ID:
		return miss("the volume is the cache's own") // a cache volume made again by a recovery
	case !sameImageTime(e.ImageUpdatedAt, img.UpdatedAt):
		m.evictImageCacheEntry(ctx, log, *e, "the image was updated since it was cached")
		return miss("the cached image is out of date")
	case e.VolumeStatus == resource.StatusError || e.VolumeStatus == resource.StatusErrorDeleting:
		m.evictImageCacheEntry(ctx, log, *e, "its volume failed")
		return miss("the cache volume failed")
	case e.VolumeStatus != resource.StatusAvailable:
		return miss("the cache volume is " + e.VolumeStatus)
	case v.Size < e.Size:
		return miss(fmt.Sprintf("the volume (%d GiB) is smaller than the cache volume (%d GiB)", v.Size, e.Size))
	}

	// Under the cache volume's lock, so that an eviction's delete waits for the clone.
	defer m.locks.lock(e.VolumeID)()
	src, err := m.Store.GetVolume(ctx, e.VolumeID)
	if errors.Is(err, resource.ErrNotFound) {
		return miss("the cache volume was deleted")
	}
	if err != nil {
		return resource.ProviderData{}, false, fmt.Errorf("load cache volume %s: %w", e.VolumeID, err)
	}
	if src.Status != resource.StatusAvailable {
		return miss("the cache volume is " + src.Status)
	}
	srcv, err := m.driverVolume(ctx, src)
	if err != nil {
		return resource.ProviderData{}, false, err
	}
	start := time.Now()
	d, err := cloner.CreateClonedVolume(ctx, dv, srcv)
	if err == nil {
		p, err = providerData(d)
	}
	if err != nil {
		// Cinder downloads the image when the clone fails; what the clone made goes first.
		log.WithError(err).WithField("cache_volume_id", e.VolumeID).Warn("could not clone the image-volume cache's volume; the image is downloaded instead")
		if derr := m.Driver.Delete(ctx, dv); derr != nil {
			return resource.ProviderData{}, false, fmt.Errorf("remove the failed clone of cache volume %s: %w", e.VolumeID, derr)
		}
		return resource.ProviderData{}, false, nil
	}
	if err := m.Store.TouchImageCacheEntry(ctx, e.ID); err != nil {
		log.WithError(err).Warn("could not mark the image-volume cache entry used")
	}
	log.WithFields(logrus.Fields{"cache_volume_id": e.VolumeID, "duration": time.Since(start).Round(time.Millisecond)}).
		Info("image-volume cache hit: volume cloned from the cache")
	return p, true, nil
}

// cacheImageVolume, after v (dv) was made from img by a download, adds a clone of it to the
// cache when the cache is on and has room (evicting the least recently used entries). A
// failure is logged, never the create's.
func (m *Manager) cacheImageVolume(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv driver.Volume, img *glance.Image) {
	opts, cloner, ok := m.imageCache(log)
	if !ok || v.EncryptionKeyID != "" {
		return
	}
	log = log.WithField("image_id", img.ID)
	e, err := m.Store.ImageCacheEntry(ctx, v.Host, img.ID)
	if err != nil {
		log.WithError(err).Warn("image-volume cache: could not look the image up; not cached")
		return
	}
	if e != nil {
		if sameImageTime(e.ImageUpdatedAt, img.UpdatedAt) {
			return // cached already (or being cached by another create)
		}
		if !m.evictImageCacheEntry(ctx, log, *e, "the image was updated since it was cached") {
			return
		}
	}
	if !m.ensureImageCacheSpace(ctx, log, opts, v) {
		return
	}
	cv := &resource.Volume{
		ID: uuid.NewString(), ProjectID: opts.ProjectID, UserID: opts.UserID,
		Name: "image-" + img.ID, Size: v.Size, Status: resource.StatusCreating, AttachStatus: resource.AttachDetached,
		AvailabilityZone: v.AvailabilityZone, Host: v.Host, VolumeTypeID: v.VolumeTypeID, SourceVolID: v.ID,
		Metadata: map[string]string{}, ImageMetadata: glance.VolumeImageMetadata(img),
	}
	entry := &resource.ImageCacheEntry{ImageID: img.ID, ImageUpdatedAt: img.UpdatedAt}
	var overQuota *resource.OverQuotaError
	switch err := m.Store.CreateImageCacheVolume(ctx, cv, entry); {
	case errors.Is(err, resource.ErrConflict):
		log.Debug("image-volume cache: another create cached the image meanwhile")
		return
	case errors.As(err, &overQuota):
		log.WithError(err).Warn("image-volume cache: the internal project is over its quota; image not cached")
		return
	case err != nil:
		log.WithError(err).Warn("image-volume cache: could not create the cache volume; image not cached")
		return
	}
	log = log.WithField("cache_volume_id", cv.ID)
	if err := m.makeImageCacheVolume(ctx, cloner, cv, dv); err != nil {
		log.WithError(err).Warn("image-volume cache: could not make the cache volume; image not cached")
		return
	}
	log.WithField("size", cv.Size).Info("image-volume cache: image cached")
}

// makeImageCacheVolume makes the storage of cache volume cv, in creating, as a clone of src
// and makes it available. When the clone fails, what it made is removed and so is cv (its
// row, entry and quota); when that removal fails, cv goes to error, which the next lookup of
// its image evicts.
func (m *Manager) makeImageCacheVolume(ctx context.Context, cloner driver.Cloner, cv *resource.Volume, src driver.Volume) error {
	defer m.locks.lock(cv.ID)()
	cvd, err := m.driverVolume(ctx, cv)
	if err != nil {
		return err
	}
	d, err := cloner.CreateClonedVolume(ctx, cvd, src)
	var p resource.ProviderData
	if err == nil {
		p, err = providerData(d)
	}
	if err != nil {
		if derr := m.Driver.Delete(ctx, cvd); derr != nil {
			_, terr := m.Store.TransitionVolume(ctx, cv.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError})
			return errors.Join(fmt.Errorf("clone: %w", err), fmt.Errorf("remove the failed clone: %w", derr), terr)
		}
		if derr := m.Store.DestroyVolume(ctx, cv.ID, []string{resource.StatusCreating}); derr != nil && !lost(derr) {
			return errors.Join(fmt.Errorf("clone: %w", err), derr)
		}
		return fmt.Errorf("clone: %w", err)
	}
	bootable, readonly := true, "True"
	_, err = m.Store.TransitionVolume(ctx, cv.ID, []string{resource.StatusCreating}, resource.VolumeChange{
		Status: resource.StatusAvailable, Provider: &p, Bootable: &bootable,
		AdminMetadata: map[string]*string{"readonly": &readonly},
	})
	switch {
	case errors.Is(err, resource.ErrNotFound): // deleted while it was made: nothing owns the storage
		cvd.Data = driverData(p)
		if derr := m.Driver.Delete(ctx, cvd); derr != nil {
			return fmt.Errorf("remove the storage of cache volume %s, deleted while it was made: %w", cv.ID, derr)
		}
		return errors.New("the cache volume was deleted while it was made")
	case errors.Is(err, resource.ErrInvalidState): // e.g. deleting: its delete, after this lock, removes it
		return fmt.Errorf("the cache volume changed while it was made: %w", err)
	case err != nil:
		return fmt.Errorf("mark cache volume %s available: %w", cv.ID, err)
	}
	return nil
}

// ensureImageCacheSpace makes room on v's pool for a cache volume of v's size within the
// cache's bounds (Cinder's ensure_space): false, evicting nothing, when that size alone
// exceeds max_size_gb; else it evicts the least recently used entries until the new one fits,
// and is false when it could not evict enough (entries still being made are not evicted).
func (m *Manager) ensureImageCacheSpace(ctx context.Context, log logrus.FieldLogger, opts ImageCacheOptions, v *resource.Volume) bool {
	if opts.MaxSizeGB <= 0 && opts.MaxCount <= 0 {
		return true
	}
	if opts.MaxSizeGB > 0 && v.Size > opts.MaxSizeGB {
		log.WithFields(logrus.Fields{"size": v.Size, "max_size_gb": opts.MaxSizeGB}).
			Info("image-volume cache: the volume alone exceeds image_volume_cache_max_size_gb; image not cached")
		return false
	}
	entries, err := m.Store.ImageCacheEntries(ctx, v.Host)
	if err != nil {
		log.WithError(err).Warn("image-volume cache: could not list the entries; image not cached")
		return false
	}
	size, count := v.Size, len(entries)+1
	for _, e := range entries {
		size += e.Size
	}
	over := func() bool {
		return (opts.MaxSizeGB > 0 && size > opts.MaxSizeGB) || (opts.MaxCount > 0 && count > opts.MaxCount)
	}
	for i := len(entries) - 1; i >= 0 && over(); i-- { // least recently used first
		if m.evictImageCacheEntry(ctx, log, entries[i], "to make room") {
			size, count = size-entries[i].Size, count-1
		}
	}
	if over() {
		log.WithFields(logrus.Fields{"size_gb": size, "count": count, "max_size_gb": opts.MaxSizeGB, "max_count": opts.MaxCount}).
			Warn("image-volume cache: not enough room; image not cached")
		return false
	}
	return true
}

// evictImageCacheEntry deletes the cache volume of e, which removes e (Cinder's
// delete_cached_volume), and reports whether it is gone. A cache volume being made or
// deleted, or deleted meanwhile by another actor, is left to it.
func (m *Manager) evictImageCacheEntry(ctx context.Context, log logrus.FieldLogger, e resource.ImageCacheEntry, why string) bool {
	log = log.WithFields(logrus.Fields{"cache_volume_id": e.VolumeID, "cached_image_id": e.ImageID, "reason": why})
	if !slices.Contains(evictable, e.VolumeStatus) {
		return false
	}
	_, err := m.Store.TransitionVolume(ctx, e.VolumeID, evictable, resource.VolumeChange{Status: resource.StatusDeleting})
	if errors.Is(err, resource.ErrNotFound) {
		return true
	}
	if err != nil {
		log.WithError(err).Warn("image-volume cache: could not evict an entry")
		return false
	}
	if err := m.DeleteVolume(ctx, e.VolumeID); err != nil {
		log.WithError(err).Warn("image-volume cache: could not delete an evicted entry's volume")
		return false
	}
	if _, err := m.Store.GetVolume(ctx, e.VolumeID); !errors.Is(err, resource.ErrNotFound) {
		log.WithError(err).Warn("image-volume cache: an evicted entry's volume was not deleted")
		return false
	}
	log.Info("image-volume cache: entry evicted")
	return true
}
