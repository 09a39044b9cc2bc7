package launch

import (
	"context"
	"fmt"

	"github.com/scoria/scoria/internal/auth"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/volume"
)

// glanceClient builds the Image service client from [DEFAULT] glance_* and [glance]; the
// Keystone URL its catalog is read from is [service_user] auth_url, else
// [keystone_authtoken]'s.
func (e *Env) glanceClient() (*glance.Client, error) {
	im := e.Cfg.Images
	retries := im.GlanceNumRetries
	if retries == 0 {
		retries = -1 // glance.Config: 0 is its default of 3; Cinder's 0 is none
	}
	authURL := e.Cfg.ServiceUser.AuthURL
	if authURL == "" {
		authURL = e.Cfg.KeystoneAuthtoken.AuthURL
	}
	c, err := glance.New(glance.Config{
		APIServers: im.GlanceAPIServers, CatalogInfo: im.GlanceCatalogInfo, RegionName: e.Cfg.Glance.RegionName,
		AuthURL: authURL, NumRetries: retries, RequestTimeout: im.GlanceRequestTimeout,
		Insecure: im.GlanceAPIInsecure, CAFile: im.GlanceCAFile, Log: e.Log.WithField("component", "glance"),
	})
	if err != nil {
		return nil, fmt.Errorf("glance: %w", err)
	}
	return c, nil
}

// serviceToken returns the token source of the service user: [service_user] when it names a
// user, else [keystone_authtoken]'s; nil when neither does.
func (e *Env) serviceToken() (func(ctx context.Context) (string, error), error) {
	su, k := e.Cfg.ServiceUser, e.Cfg.KeystoneAuthtoken
	var cfg auth.Config
	switch {
	case su.AuthURL != "" && su.Username != "":
		cfg = auth.Config{AuthURL: su.AuthURL, Username: su.Username, Password: su.Password, ProjectName: su.ProjectName,
			UserDomainName: su.UserDomainName, ProjectDomainName: su.ProjectDomainName}
	case k.AuthURL != "" && k.Username != "":
		cfg = auth.Config{AuthURL: k.AuthURL, Username: k.Username, Password: k.Password, ProjectName: k.ProjectName,
			UserDomainName: k.UserDomainName, ProjectDomainName: k.ProjectDomainName, RegionName: k.RegionName}
	default:
		return nil, nil
	}
	ks, err := auth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("service user: %w", err)
	}
	return ks.ServiceToken, nil
}

// volumeImages is a backend's Images: the Glance client and service token shared by every
// backend of the process, and the backend's image-volume cache options.
func (e *Env) volumeImages(g *glance.Client, token func(ctx context.Context) (string, error), b *config.Backend) *volume.Images {
	im := e.Cfg.Images
	core := im.GlanceCoreProperties
	if core == nil {
		core = config.DefaultGlanceCoreProperties
	}
	return &volume.Images{
		Glance: g, ServiceToken: token, SendServiceToken: e.Cfg.ServiceUser.SendServiceUserToken,
		ConversionDir: im.ImageConversionDir, ConversionDisable: im.ImageConversionDisable,
		AllowedDirectURLSchemes: im.AllowedDirectURLSchemes, CoreProperties: core,
		Cache: volume.ImageCacheOptions{Enabled: b.ImageVolumeCacheEnabled, MaxSizeGB: b.ImageVolumeCacheMaxSizeGB,
			MaxCount: b.ImageVolumeCacheMaxCount, ProjectID: im.InternalTenantProjectID, UserID: im.InternalTenantUserID},
	}
}
