package config

import "time"

// KeyManager is the [key_manager] section (castellan's): which key manager holds the keys of
// encrypted volumes.
type KeyManager struct {
	// Backend is "barbican" (castellan's default, also by its class path); any other value
	// leaves Scoria without a key manager, and creating an encrypted volume fails.
	Backend string
}

// Barbican is the [barbican] section (castellan's): how the Barbican key manager is reached
// with the caller's token.
type Barbican struct {
	Endpoint     string        // barbican_endpoint; "" finds it in the Keystone catalog
	APIVersion   string        // barbican_api_version, default v1
	AuthEndpoint string        // auth_endpoint: Keystone, to read the catalog; "" [keystone_authtoken] auth_url
	EndpointType string        // barbican_endpoint_type: public (default), internal or admin
	RegionName   string        // barbican_region_name; "" any region
	Retries      int           // number_of_retries: polls of a key order, default 60
	RetryDelay   time.Duration // retry_delay (seconds) between polls, default 1
}

const (
	keyManagerSection = "key_manager"
	barbicanSection   = "barbican"
)

var keyManagerOptions = []opt[KeyManager]{
	{"backend", "barbican", "Key manager of encrypted volumes' keys: barbican; any other value: no key manager (creating an encrypted volume fails)", str(func(k *KeyManager) *string { return &k.Backend })},
}

var barbicanOptions = []opt[Barbican]{
	{"barbican_endpoint", "", "Barbican's URL, e.g. http://controller:9311; empty: the key-manager endpoint of the Keystone catalog", url("http://controller:9311", func(b *Barbican) *string { return &b.Endpoint })},
	{"barbican_api_version", "v1", "Barbican API version", nonEmpty(func(b *Barbican) *string { return &b.APIVersion })},
	{"auth_endpoint", "", "Keystone URL the catalog is read from, e.g. http://controller:5000/v3; empty: [keystone_authtoken] auth_url", url("http://controller:5000/v3", func(b *Barbican) *string { return &b.AuthEndpoint })},
	{"barbican_endpoint_type", "public", "Interface of the catalog's key-manager endpoint", oneOf(func(b *Barbican) *string { return &b.EndpointType }, "public", "internal", "admin")},
	{"barbican_region_name", "", "Region of the catalog's key-manager endpoint; empty: any", str(func(b *Barbican) *string { return &b.RegionName })},
	{"number_of_retries", "60", "Times a key order is polled before the key's creation fails", integer(1, noMax, func(b *Barbican) *int { return &b.Retries })},
	{"retry_delay", "1", "Seconds between polls of a key order", seconds(0, func(b *Barbican) *time.Duration { return &b.RetryDelay })},
}
