package volume

import (
	"context"
	"io"

	"github.com/scoria/scoria/internal/glance"
)

// Glance is what the volume service needs of the Image service (glance.Client).
type Glance interface {
	Show(ctx context.Context, a glance.Auth, id string) (*glance.Image, error)
	Download(ctx context.Context, a glance.Auth, id string) (io.ReadCloser, error)
	Upload(ctx context.Context, a glance.Auth, id string, body io.Reader, size int64) error
	Update(ctx context.Context, a glance.Auth, id string, patch ...glance.Patch) (*glance.Image, error)
	Delete(ctx context.Context, a glance.Auth, id string) error
}

// Images is how a volume service makes volumes from Glance images and uploads volumes to
// them. A Manager without it (nil) fails such requests with a user message.
type Images struct {
	Glance Glance
	// ServiceToken, when set, returns a token of the service user ([service_user], else
	// [keystone_authtoken]): used when a request carries no user token (auth_strategy noauth,
	// a recovery after a restart), and sent as X-Service-Token when SendServiceToken.
	ServiceToken     func(ctx context.Context) (string, error)
	SendServiceToken bool
	// ConversionDir is image_conversion_dir: where images are downloaded and converted.
	ConversionDir string
	// ConversionDisable is image_conversion_disable.
	ConversionDisable bool
	// AllowedDirectURLSchemes is allowed_direct_url_schemes (e.g. "file"): image locations
	// read directly instead of downloaded.
	AllowedDirectURLSchemes []string
	// CoreProperties is glance_core_properties: image metadata keys not copied to an
	// uploaded image's properties.
	CoreProperties []string
	// Cache is the backend's image-volume cache (image_volume_cache_*).
	Cache ImageCacheOptions
}

// ImageCacheOptions are the backend's image-volume cache options and the internal tenant
// that owns the cache's volumes.
type ImageCacheOptions struct {
	Enabled   bool   // image_volume_cache_enabled
	MaxSizeGB int    // image_volume_cache_max_size_gb; 0: no bound
	MaxCount  int    // image_volume_cache_max_count; 0: no bound
	ProjectID string // cinder_internal_tenant_project_id
	UserID    string // cinder_internal_tenant_user_id
}
