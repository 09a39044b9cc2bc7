package config

import (
	"sort"
	"strings"
	"sync"
)

// Backend is a section named in enabled_backends: the options every backend has, and typed
// accessors for the options of its driver. Values are already $-expanded. A Backend may be
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

// DriverOption is an option one driver reads from its backend section, with Cinder's name
// and default. The driver reads it through Backend's typed accessors with Default; the table
// documents it in etc/scoria.conf.sample.
type DriverOption struct {
	Driver  string // Scoria's driver name, e.g. "lvm"
	Name    string
	Type    string // what a value must be, e.g. "one of zero, none"
	Default string // as written in a file; "" is none
	Help    string
}

// driverOptions are the options of Scoria's drivers other than the local-file one, in the
// order the sample shows them.
var driverOptions = []DriverOption{
	{"lvm", "volume_group", "string, not empty", "cinder-volumes", "Volume group the LVM driver makes its logical volumes in"},
	{"lvm", "lvm_type", "one of default, thin, auto", "default", "default: thick logical volumes; thin: thin volumes in the pool <volume_group>-pool, made at start when missing; auto: thin when this lvm2 supports thin pools"},
	{"lvm", "lvm_conf_file", "string", "/etc/cinder/lvm.conf", "LVM configuration file the LVM driver runs lvm with (as LVM_SYSTEM_DIR, its directory, so the file must be named lvm.conf); ignored when it does not exist; None: no file of its own"},
	{"lvm", "volume_clear", "one of zero, none", "zero", "How a thick volume is cleared before it is removed: zero writes zeros over it, none leaves its data"},
	{"lvm", "volume_clear_size", "integer, at least 0", "0", "MiB to zero at the start of a cleared volume; 0: all of it"},
	{"lvm", "lvm_suppress_fd_warnings", "boolean", "false", "Run lvm with LVM_SUPPRESS_FD_WARNINGS=1, silencing its warnings about inherited file descriptors"},
	{"lvm", "lvm_binary", "string, not empty", "lvm", "The lvm binary (a path, or a name looked up in PATH) every LVM command runs as a subcommand of"},
	{"lvm", "lvm_command_timeout", "seconds, at least 1", "120", "Seconds an LVM command may run before it is killed"},
	{"rbd", "rbd_cluster_name", "string", "ceph", "The name of the Ceph cluster"},
	{"rbd", "rbd_pool", "string, not empty", "rbd", "The RADOS pool the RBD driver keeps its volumes in"},
	{"rbd", "rbd_user", "string", "", "The cephx client name (without client.) for the volumes; empty: client.admin and auth_enabled false in the connection info"},
	{"rbd", "rbd_ceph_conf", "string", "", "Path to the ceph configuration file; empty: librados's default"},
	{"rbd", "rbd_keyring_conf", "string", "", "Keyring file of rbd_user; its contents also go into the connection info (keyring)"},
	{"rbd", "rbd_secret_uuid", "string", "", "The libvirt uuid of the secret for the rbd_user volumes"},
	{"rbd", "rbd_flatten_volume_from_snapshot", "boolean", "false", "Flatten volumes created from snapshots to remove their dependency on the snapshot"},
	{"rbd", "rbd_max_clone_depth", "integer, at least 0", "5", "Ancestors a volume may have before a new clone of it is flattened; 0: never clone (clones are full copies)"},
	{"rbd", "rbd_store_chunk_size", "MiB, a power of 2", "4", "Volumes are chunked into objects of this size (the image order)"},
	{"rbd", "rados_connect_timeout", "seconds", "-1", "Timeout connecting to the cluster; < 0: rados_op_timeout (Scoria never waits without bound)"},
	{"rbd", "rados_connection_retries", "integer, at least 0", "3", "Retries when connecting to the cluster fails"},
	{"rbd", "rados_connection_interval", "seconds, at least 0", "5", "Seconds between connection retries"},
	{"rbd", "rados_op_timeout", "seconds, at least 1", "30", "Scoria's: seconds every call to the cluster may take before the backend reports it unreachable"},
	{"rbd", "report_dynamic_total_capacity", "boolean", "true", "Report total capacity as used + free; false: the pool quota, or the cluster's size"},
	{"rbd", "rbd_exclusive_cinder_pool", "boolean", "true", "False when the pool is shared: the driver then sums its images' sizes for provisioned_capacity_gb"},
	{"rbd", "report_discard_supported", "boolean", "false", "Accepted for cinder.conf; the rbd connection info always reports discard, as Cinder's RBD driver"},
}

// DriverOptions returns the options of driver (Scoria's name, e.g. "lvm"), in table order.
func DriverOptions(driver string) []DriverOption {
	var out []DriverOption
	for _, o := range driverOptions {
		if o.Driver == driver {
			out = append(out, o)
		}
	}
	return out
}

// DriverDefault returns the default of option name of driver, "" when the table lacks it.
func DriverDefault(driver, name string) string {
	for _, o := range driverOptions {
		if o.Driver == driver && o.Name == name {
			return o.Default
		}
	}
	return ""
}
