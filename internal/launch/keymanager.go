package launch

import "github.com/scoria/scoria/internal/keymanager"

// keyManager is the key manager of [key_manager] and [barbican]; Barbican's catalog is read
// from [barbican] auth_endpoint, else [keystone_authtoken] auth_url.
func (e *Env) keyManager() keymanager.Manager {
	b := e.Cfg.Barbican
	auth := b.AuthEndpoint
	if auth == "" {
		auth = e.Cfg.KeystoneAuthtoken.AuthURL
	}
	return keymanager.New(keymanager.Config{
		Backend:      e.Cfg.KeyManager.Backend,
		Endpoint:     b.Endpoint,
		APIVersion:   b.APIVersion,
		AuthEndpoint: auth,
		EndpointType: b.EndpointType,
		RegionName:   b.RegionName,
		Retries:      b.Retries,
		RetryDelay:   b.RetryDelay,
		Log:          e.Log.WithField("component", "keymanager"),
	})
}
