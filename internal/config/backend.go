package config

import (
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/scoria/scoria/pkg/driver"
)

// Backend is a section named in enabled_backends: the options every backend has, typed
// accessors for its other keys, and Section, which hands them to its driver's registration. Values are already $-expanded. A Backend may be
// read from several goroutines.
type Backend struct {
	Name                     string // the name in enabled_backends, e.g. "lvmdriver-1"
	File                     string // the last file with a header for the section
	VolumeDriver             string // volume_driver as written
	VolumeBackendName        string // volume_backend_name, default the section name
	BackendAvailabilityZone  string // backend_availability_zone, default [DEFAULT] storage_availability_zone
	ReservedPercentage       int    // reserved_percentage, 0 to 100, default 0
	MaxOverSubscriptionRatio string // max_over_subscription_ratio: a number of at least 1 or "auto", default "20.0"
	FilterFunction           string // filter_function: the DriverFilter's expression, "" for none
	GoodnessFunction         string // goodness_function: the GoodnessWeigher's expression, "" for none

	// The iSCSI target helper's options (internal/target), Cinder's names and defaults.
	TargetHelper    string // target_helper: one of Cinder's helpers or "none", default "tgtadm"
	TargetProtocol  string // target_protocol, default "iscsi"
	TargetIPAddress string // target_ip_address, default 127.0.0.1
	TargetPort      int    // target_port, default 3260
	TargetPrefix    string // target_prefix, default iqn.2010-10.org.openstack:
	VolumesDir      string // volumes_dir: persistent target files, default $state_path/volumes
	UseCHAPAuth     bool   // use_chap_auth, default false
	CHAPUsername    string // chap_username: "" generates one per volume
	CHAPPassword    string // chap_password: "" generates one per volume
	ISCSIWriteCache string // iscsi_write_cache: "on" or "off"

	// The image-volume cache (Cinder's options of the backend's section).
	ImageVolumeCacheEnabled   bool // image_volume_cache_enabled, default false
	ImageVolumeCacheMaxSizeGB int  // image_volume_cache_max_size_gb, default 0: no bound
	ImageVolumeCacheMaxCount  int  // image_volume_cache_max_count, default 0: no bound

	section string            // the section name as written, for messages
	values  map[string]string // every key written in the section, expanded
	origins map[string]string // key → file or environment variable

	mu   sync.Mutex
	used map[string]bool
}

// String returns option key, or def when the section does not set it. Reading an option
// marks it used.
func (b *Backend) String(key, def string) string {
	v, ok := b.lookup(key)
	if !ok {
		return def
	}
	return v
}

// Int returns option key as an integer, or def when not set; a bad value is an *Error.
func (b *Backend) Int(key string, def int) (int, error) {
	v, ok := b.lookup(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := parseInt(v, -noMax-1, noMax)
	if err != nil {
		return def, b.error(key, err)
	}
	return n, nil
}

// Bool returns option key as an oslo boolean (true/false, yes/no, on/off, 1/0), or def when
// not set; a bad value is an *Error.
func (b *Backend) Bool(key string, def bool) (bool, error) {
	v, ok := b.lookup(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	t, err := parseBool(v)
	if err != nil {
		return def, b.error(key, err)
	}
	return t, nil
}

// Float returns option key as a number, or def when not set; a bad value is an *Error.
func (b *Backend) Float(key string, def float64) (float64, error) {
	v, ok := b.lookup(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	f, err := parseFloat(v)
	if err != nil {
		return def, b.error(key, err)
	}
	return f, nil
}

// OneOf returns option key, which must be one of choices, or def when not set; another value
// is an *Error such as `[lvm] volume_clear: "foo" is not one of zero, none`.
func (b *Backend) OneOf(key, def string, choices ...string) (string, error) {
	v, ok := b.lookup(key)
	if !ok {
		return def, nil
	}
	c, err := parseChoice(v, choices)
	if err != nil {
		return def, b.error(key, err)
	}
	return c, nil
}

// List returns option key as an oslo list (comma-separated, blanks trimmed), or def when not set.
func (b *Backend) List(key string, def []string) []string {
	v, ok := b.lookup(key)
	if !ok {
		return def
	}
	return splitList(v)
}

// Has reports whether the section sets option key (in a file or the environment).
func (b *Backend) Has(key string) bool {
	_, ok := b.values[strings.ToLower(key)]
	return ok
}

// Keys returns the options the section sets, sorted.
func (b *Backend) Keys() []string {
	keys := make([]string, 0, len(b.values))
	for k := range b.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Use marks options as understood by the driver, whether or not it reads them.
func (b *Backend) Use(keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == nil {
		b.used = map[string]bool{}
	}
	for _, k := range keys {
		b.used[strings.ToLower(k)] = true
	}
}

// UnusedKeys returns the options the section sets that are neither common to every backend
// nor used by anyone (read or marked with Use), sorted: the caller logs them as ignored.
func (b *Backend) UnusedKeys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, k := range b.Keys() {
		if _, common := lookupDefault(backendOptions, k); !common && !b.used[k] {
			out = append(out, k)
		}
	}
	return out
}

func (b *Backend) lookup(key string) (string, bool) {
	key = strings.ToLower(key)
	b.Use(key)
	v, ok := b.values[key]
	return v, ok
}

func (b *Backend) error(key string, err error) error {
	key = strings.ToLower(key)
	section := b.section
	if section == "" {
		section = b.Name
	}
	return &Error{File: b.origins[key], Section: section, Key: key, Reason: err.Error()}
}

// Section returns the section as the driver registry reads it (driver.New): the keys it
// sets and where each came from, the backend's common options and statePath ([DEFAULT]
// state_path). Its Use marks keys used here, so that UnusedKeys leaves out what the driver
// declared or read.
func (b *Backend) Section(statePath string) driver.Section {
	section := b.section
	if section == "" {
		section = b.Name
	}
	return driver.Section{
		Name:                     section,
		File:                     b.File,
		Values:                   maps.Clone(b.values),
		Origins:                  maps.Clone(b.origins),
		BackendName:              b.VolumeBackendName,
		ReservedPercentage:       b.ReservedPercentage,
		MaxOverSubscriptionRatio: b.MaxOverSubscriptionRatio,
		StatePath:                statePath,
		Use:                      b.Use,
	}
}
