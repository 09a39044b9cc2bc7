package launch

import (
	"fmt"
	"path/filepath"

	"github.com/scoria/scoria/internal/api"
	"github.com/scoria/scoria/internal/auth"
	"github.com/scoria/scoria/internal/policy"
)

// authOptions builds the API's authentication and policy from [keystone_authtoken] and
// [oslo_policy]: a Keystone token validator with auth_strategy = keystone, and the policy
// file (relative names are next to the first configuration file) over Cinder's defaults.
func (e *Env) authOptions() (api.Options, error) {
	var o api.Options
	pf := e.Cfg.OsloPolicy.PolicyFile
	if pf != "" && !filepath.IsAbs(pf) && len(e.Cfg.Files) > 0 {
		pf = filepath.Join(filepath.Dir(e.Cfg.Files[0]), pf)
	}
	enf, err := policy.New(policy.Options{File: pf, EnforceNewDefaults: e.Cfg.OsloPolicy.EnforceNewDefaults})
	if err != nil {
		return o, fmt.Errorf("oslo_policy: %w", err)
	}
	o.Policy = enf
	if e.Cfg.Default.AuthStrategy != "keystone" {
		return o, nil
	}
	k := e.Cfg.KeystoneAuthtoken
	v, err := auth.New(auth.Config{
		WWWAuthenticateURI: k.WWWAuthenticateURI, AuthURL: k.AuthURL, Username: k.Username, Password: k.Password,
		ProjectName: k.ProjectName, UserDomainName: k.UserDomainName, ProjectDomainName: k.ProjectDomainName,
		RegionName: k.RegionName, TokenCacheTime: k.TokenCacheTime,
	})
	if err != nil {
		return o, err
	}
	o.Tokens, o.ServiceTokenRoles, o.ServiceTokenRolesRequired = v, k.ServiceTokenRoles, k.ServiceTokenRolesRequired
	e.Log.WithField("auth_url", k.AuthURL).Info("Keystone authentication")
	return o, nil
}
