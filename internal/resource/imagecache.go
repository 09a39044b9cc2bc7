package resource

import "time"

// ImageCacheEntry is an entry of a backend's image-volume cache (Cinder's
// image_volume_cache_entries): a volume of the internal tenant holding an image, cloned for
// the next volumes made from that image on the same pool.
type ImageCacheEntry struct {
	ID      int64
	Host    string // the cache volume's host@backend#pool
	ImageID string
	// ImageUpdatedAt is the image's updated_at when it was cached, in UTC: an image updated
	// since is stale and evicted.
	ImageUpdatedAt time.Time
	VolumeID       string
	Size           int       // GiB, the cache volume's size
	LastUsed       time.Time // when it was made or last cloned (LRU)
	// VolumeStatus is the status of the cache volume, read with the entry: only an
	// available one is cloned (one in creating is still being made).
	VolumeStatus string
}
