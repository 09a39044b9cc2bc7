package volume

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// The image-volume cache (Cinder's image_volume_cache_*): a volume of each image, owned by the
// internal tenant, cloned for the next volumes of that image on this backend.

// createFromImageCache makes the storage of v (dv) by cloning the cache's volume of img on
// this backend, and returns its driver data; hit is false, having made nothing, when the
// cache is off, the backend cannot clone, or holds no current volume of img.
func (m *Manager) createFromImageCache(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv driver.Volume, img *glance.Image) (p resource.ProviderData, hit bool, err error) {
	return resource.ProviderData{}, false, nil
}

// cacheImageVolume, after v (dv) was made from img by a download, adds a clone of it to the
// cache when the cache is on and has room (evicting the least recently used entries). A
// failure is logged, never the create's.
func (m *Manager) cacheImageVolume(ctx context.Context, log logrus.FieldLogger, v *resource.Volume, dv driver.Volume, img *glance.Image) {
}
