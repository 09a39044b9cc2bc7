package config

import "time"

// KeystoneAuthtoken is the [keystone_authtoken] section: how the API (auth_strategy =
// keystone) logs in to Keystone and validates the callers' tokens, as keystonemiddleware.
type KeystoneAuthtoken struct {
	WWWAuthenticateURI        string        // www_authenticate_uri
	AuthURL                   string        // auth_url
	AuthType                  string        // auth_type: password only
	Username                  string        // username
	Password                  string        // password
	ProjectName               string        // project_name
	UserDomainName            string        // user_domain_name, default Default
	ProjectDomainName         string        // project_domain_name, default Default
	RegionName                string        // region_name
	TokenCacheTime            time.Duration // token_cache_time (seconds), default 300
	ServiceTokenRoles         []string      // service_token_roles, default service
	ServiceTokenRolesRequired bool          // service_token_roles_required, default false
}

// OsloPolicy is the [oslo_policy] section.
type OsloPolicy struct {
	PolicyFile         string // policy_file, default policy.yaml (next to the configuration)
	EnforceNewDefaults bool   // enforce_new_defaults: drop the legacy admin_or_owner strings
}

var keystoneOptions = []opt[KeystoneAuthtoken]{
	{"www_authenticate_uri", "", "Keystone URL clients are told to get a token from (WWW-Authenticate); empty: auth_url", url("http://controller:5000/v3", func(k *KeystoneAuthtoken) *string { return &k.WWWAuthenticateURI })},
	{"auth_url", "", "Keystone URL the API logs in to and validates tokens with, e.g. http://controller:5000/v3", url("http://controller:5000/v3", func(k *KeystoneAuthtoken) *string { return &k.AuthURL })},
	{"auth_type", "password", "How the API logs in to Keystone: password", oneOf(func(k *KeystoneAuthtoken) *string { return &k.AuthType }, "password")},
	{"username", "", "User the API logs in to Keystone as", str(func(k *KeystoneAuthtoken) *string { return &k.Username })},
	{"password", "", "Password of that user", str(func(k *KeystoneAuthtoken) *string { return &k.Password })},
	{"project_name", "", "Project the API's token is scoped to", str(func(k *KeystoneAuthtoken) *string { return &k.ProjectName })},
	{"user_domain_name", "Default", "Domain of the user", nonEmpty(func(k *KeystoneAuthtoken) *string { return &k.UserDomainName })},
	{"project_domain_name", "Default", "Domain of the project", nonEmpty(func(k *KeystoneAuthtoken) *string { return &k.ProjectDomainName })},
	{"region_name", "", "Region of the identity service", str(func(k *KeystoneAuthtoken) *string { return &k.RegionName })},
	{"token_cache_time", "300", "Seconds a validated token is trusted without asking Keystone again (never past its expiry)", seconds(0, func(k *KeystoneAuthtoken) *time.Duration { return &k.TokenCacheTime })},
	{"service_token_roles", "service", "Roles an X-Service-Token must hold to count as a service's (e.g. Nova's)", list(func(k *KeystoneAuthtoken) *[]string { return &k.ServiceTokenRoles })},
	{"service_token_roles_required", "false", "Refuse a request whose X-Service-Token holds none of service_token_roles", boolean(func(k *KeystoneAuthtoken) *bool { return &k.ServiceTokenRolesRequired })},
}

var policyOptions = []opt[OsloPolicy]{
	{"policy_file", "policy.yaml", "oslo.policy file (YAML or JSON) overriding Cinder's default rules one by one; relative: next to the first configuration file; absent: the defaults", str(func(p *OsloPolicy) *string { return &p.PolicyFile })},
	{"enforce_new_defaults", "false", "Enforce the reader/member/admin persona defaults only, without the legacy admin_or_owner rules", boolean(func(p *OsloPolicy) *bool { return &p.EnforceNewDefaults })},
}
