package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// Config is the configuration of one process, loaded once in main and passed down.
type Config struct {
	Files    []string // the files read, in order
	Default  Default
	Database Database
	// KeystoneAuthtoken is [keystone_authtoken] (auth_strategy = keystone) and OsloPolicy
	// [oslo_policy].
	KeystoneAuthtoken KeystoneAuthtoken
	OsloPolicy        OsloPolicy
	Backends          []*Backend // one per name in enabled_backends, in that order
	// Ignored lists the options Scoria does not implement, as "section/key (file)", sorted;
	// the caller logs each once.
	Ignored []string

	// KeyManager is [key_manager] and Barbican [barbican]: encrypted volumes' keys.
	KeyManager KeyManager
	Barbican   Barbican

	// Images is the [DEFAULT] options of images and Glance, Glance [glance] and ServiceUser
	// [service_user] (images.go).
	Images      Images
	Glance      Glance
	ServiceUser ServiceUser

	// Backups is the [DEFAULT] options of scoria-backup and its drivers (backups.go).
	Backups Backups

	values map[string]string // sectionID+sep+key → value (resolved for the options Scoria reads)
}

// Default is the [DEFAULT] section.
type Default struct {
	TransportURL            string        // transport_url; "" means the in-process bus (all-in-one only)
	Host                    string        // host; default os.Hostname()
	MyIP                    string        // my_ip; default the address of the default route's interface
	StorageAvailabilityZone string        // storage_availability_zone, default "nova"
	DefaultAvailabilityZone string        // default_availability_zone, default StorageAvailabilityZone
	EnabledBackends         []string      // enabled_backends, a comma-separated list
	DefaultVolumeType       string        // default_volume_type, default "__DEFAULT__"
	DefaultGroupType        string        // default_group_type, default "" (none)
	AuthStrategy            string        // auth_strategy: "noauth" (default) or "keystone"
	OsapiVolumeListen       string        // osapi_volume_listen, default "0.0.0.0"
	OsapiVolumePort         int           // osapi_volume_listen_port, default 8776
	OsapiVolumeWorkers      int           // osapi_volume_workers, 0 when unset; informational
	OsapiMaxLimit           int           // osapi_max_limit, default 1000
	ClientSocketTimeout     time.Duration // client_socket_timeout (seconds), default 900s; 0: idle connections kept for ever
	WSGIKeepAlive           bool          // wsgi_keep_alive, default true
	ReportInterval          time.Duration // report_interval (seconds), default 10s
	ServiceDownTime         time.Duration // service_down_time (seconds), default 60s
	PeriodicInterval        time.Duration // periodic_interval (seconds), default 60s: capability reports
	SchedulerMaxAttempts    int           // scheduler_max_attempts, default 3, at least 1
	MessageReapInterval     time.Duration // message_reap_interval (seconds), default 86400s
	// SchedulerDefaultFilters and SchedulerDefaultWeighers name the scheduler's pipeline;
	// the scheduler checks the names when it starts.
	SchedulerDefaultFilters           []string      // scheduler_default_filters
	SchedulerDefaultWeighers          []string      // scheduler_default_weighers
	CapacityWeightMultiplier          float64       // capacity_weight_multiplier, default 1.0
	AllocatedCapacityWeightMultiplier float64       // allocated_capacity_weight_multiplier, default -1.0
	VolumeNumberMultiplier            float64       // volume_number_multiplier, default -1.0
	StatePath                         string        // state_path, default /var/lib/scoria
	Debug                             bool          // debug
	LogFile                           string        // log_file
	LogDir                            string        // log_dir
	RPCResponseTimeout                time.Duration // rpc_response_timeout (seconds), default 60s
	AttachmentSweepAge                time.Duration // attachment_sweep_age (seconds), default 600s
	AttachmentSweepInterval           time.Duration // attachment_sweep_interval (seconds), default 60s
	StorageReconcileInterval          time.Duration // storage_reconcile_interval (seconds), default 3600s; 0: at start only
	// ResourceQueryFilters is resource_query_filters_file read at load: the filters a
	// non-admin may use, by resource; nil when the option is empty (Cinder's defaults).
	ResourceQueryFilters map[string][]string
}

// Database is the [database] section.
type Database struct {
	// Connection is the SQLAlchemy URL of the database. The split services need it: they
	// check with Config.Require, since the all-in-one writes its own.
	Connection string
}

// Error is a configuration problem a person can fix: which file (several joined by ", ", or
// "$SCORIA_…" for the environment), section and key, and why. It reads like
// `/etc/scoria/scoria.conf: [lvm] volume_clear: "foo" is not one of zero, none`. It is the
// driver kit's ConfigError, so that a driver's own option errors and the service's read alike.
type Error = driver.ConfigError

// Load reads files in order (a later file wins per key), applies the overrides of environ
// (os.Environ() form; SCORIA_<SECTION>__<KEY>=value) and checks every option Scoria
// implements. All problems found are returned together; each is an *Error.
func Load(files []string, environ []string) (*Config, error) {
	st, err := layer(files, environ)
	if err != nil {
		return nil, err
	}
	hostname, herr := os.Hostname()
	if herr != nil || hostname == "" {
		hostname = "localhost"
	}
	l := &loader{st: st, hostname: hostname, myIP: detectMyIP(), backends: map[string]string{}}
	c := &Config{Files: slices.Clone(files)}
	l.build(c)
	if len(l.errs) == 1 {
		return nil, l.errs[0]
	}
	if len(l.errs) > 1 {
		return nil, errors.Join(l.errs...)
	}
	return c, nil
}

// Require returns an *Error when option key of section has no value, for the options that
// are required only by some binaries (the split services need [database] connection).
func (c *Config) Require(section, key string) error {
	key = strings.ToLower(key)
	if c.values[sectionID(section)+sep+key] != "" {
		return nil
	}
	name := displayName(section)
	reason := fmt.Sprintf("a value is required: set it in the file or as %s", envName(name, key))
	if len(c.Files) == 0 {
		reason = fmt.Sprintf("a value is required: no configuration file was read (give --config-file), nor is %s set", envName(name, key))
	}
	return &Error{File: strings.Join(c.Files, ", "), Section: name, Key: key, Reason: reason}
}

// loader builds a Config from the layered values.
type loader struct {
	st       *store
	hostname string
	myIP     string
	backends map[string]string // section id → backend name, for the enabled backends
	errs     []error
}

func (l *loader) fail(file, section, key, reason string) {
	l.errs = append(l.errs, &Error{File: file, Section: section, Key: key, Reason: reason})
}

func (l *loader) build(c *Config) {
	c.values = map[string]string{}
	for id, s := range l.st.sections {
		for k, v := range s.keys {
			c.values[id+sep+k] = v.value
		}
	}
	apply(l, c, sectionID(defaultSection), defaultOptions, &c.Default)
	apply(l, c, sectionID(databaseSection), databaseOptions, &c.Database)
	apply(l, c, sectionID(keystoneSection), keystoneOptions, &c.KeystoneAuthtoken)
	apply(l, c, sectionID(policySection), policyOptions, &c.OsloPolicy)
	apply(l, c, sectionID(keyManagerSection), keyManagerOptions, &c.KeyManager)
	apply(l, c, sectionID(barbicanSection), barbicanOptions, &c.Barbican)
	apply(l, c, sectionID(defaultSection), imageOptions, &c.Images)
	apply(l, c, sectionID(glanceSection), glanceOptions, &c.Glance)
	apply(l, c, sectionID(serviceUserSection), serviceUserOptions, &c.ServiceUser)
	apply(l, c, sectionID(defaultSection), backupOptions, &c.Backups)
	l.buildBackends(c)
	c.Ignored = l.ignored()
}

// apply resolves and parses the options of table in section id into target.
func apply[T any](l *loader, c *Config, id string, table []opt[T], target *T) {
	for _, o := range table {
		v, origin, ok := l.read(id, o.name, o.emptyOK)
		if !ok {
			continue
		}
		c.values[id+sep+o.name] = v
		if err := o.set(target, v); err != nil {
			l.fail(origin, l.st.name(id), o.name, err.Error())
		}
	}
}

// read returns the expanded value of option key in section id, as written in a file or the
// environment, else its default, and where it came from. An empty value means the default
// unless emptyOK. ok is false when the value could not be expanded (the error is recorded)
// or when there is no value: the zero value stands.
func (l *loader) read(id, key string, emptyOK bool) (value, origin string, ok bool) {
	kv, written := l.st.get(id, key)
	raw := kv.value
	if !written || (strings.TrimSpace(raw) == "" && !emptyOK) {
		written = false
		raw, _ = l.defaultOf(id, key)
	}
	v, err := l.resolver().expand(id, key, raw)
	if err != nil {
		l.fail(kv.origin, l.st.name(id), key, err.Error())
		return "", "", false
	}
	if !written && v == "" {
		return "", "", false
	}
	return v, kv.origin, true
}

func (l *loader) resolver() *resolver {
	return &resolver{st: l.st, def: l.defaultOf}
}

// defaultOf returns the default of an option Scoria implements, as written in a file.
func (l *loader) defaultOf(id, key string) (string, bool) {
	var d string
	var ok bool
	switch id {
	case sectionID(defaultSection):
		if d, ok = lookupDefault(defaultOptions, key); !ok {
			if d, ok = lookupDefault(imageOptions, key); !ok {
				d, ok = lookupDefault(backupOptions, key)
			}
		}
	case sectionID(databaseSection):
		d, ok = lookupDefault(databaseOptions, key)
	case sectionID(keystoneSection):
		d, ok = lookupDefault(keystoneOptions, key)
	case sectionID(policySection):
		d, ok = lookupDefault(policyOptions, key)
	case sectionID(keyManagerSection):
		d, ok = lookupDefault(keyManagerOptions, key)
	case sectionID(barbicanSection):
		d, ok = lookupDefault(barbicanOptions, key)
	case sectionID(glanceSection):
		d, ok = lookupDefault(glanceOptions, key)
	case sectionID(serviceUserSection):
		d, ok = lookupDefault(serviceUserOptions, key)
	default:
		name, enabled := l.backends[id]
		if !enabled {
			return "", false
		}
		d, ok = lookupDefault(backendOptions, key)
		d = strings.ReplaceAll(d, sectionNameDefault, name)
	}
	return strings.NewReplacer(hostnameDefault, l.hostname, myIPDefault, l.myIP).Replace(d), ok
}

// detectMyIP is oslo's get_my_ipv4, my_ip's default: the local address of a UDP socket
// "connected" towards a public address (nothing is sent), that is the address of the
// interface of the default route; 127.0.0.1 on a host without one.
func detectMyIP() string {
	c, err := net.Dial("udp4", "8.8.8.8:80")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP != nil && !a.IP.IsUnspecified() {
		return a.IP.String()
	}
	return "127.0.0.1"
}

func (l *loader) buildBackends(c *Config) {
	origin := l.st.origin(sectionID(defaultSection), "enabled_backends")
	seen := map[string]string{}
	var missing []string
	for _, name := range c.Default.EnabledBackends {
		id := sectionID(name)
		if name == defaultSection {
			l.fail(origin, defaultSection, "enabled_backends", fmt.Sprintf("names [%s], which is not a backend section", name))
			continue
		}
		if first, dup := seen[id]; dup {
			l.fail(origin, defaultSection, "enabled_backends", fmt.Sprintf("names %s twice (as %q and %q)", name, first, name))
			continue
		}
		seen[id] = name
		if _, ok := l.st.sections[id]; !ok {
			missing = append(missing, "["+name+"]")
			continue
		}
		l.backends[id] = name
	}
	if len(missing) > 0 {
		l.fail(origin, defaultSection, "enabled_backends", fmt.Sprintf("names %s but no such section exists", strings.Join(missing, ", ")))
	}
	for _, name := range c.Default.EnabledBackends {
		id := sectionID(name)
		if l.backends[id] != name {
			continue
		}
		s := l.st.sections[id]
		b := &Backend{
			Name:    name,
			File:    s.file,
			section: s.name,
			values:  map[string]string{},
			origins: map[string]string{},
			used:    map[string]bool{},
		}
		// Every key of an enabled backend is resolved now, so that a driver's accessors
		// need not report $reference errors.
		for _, k := range s.sortedKeys() {
			v, err := l.resolver().value(id, k)
			if err != nil {
				if _, common := lookupDefault(backendOptions, k); !common { // apply reports those
					l.fail(s.keys[k].origin, s.name, k, err.Error())
				}
				continue
			}
			b.values[k] = v
			b.origins[k] = s.keys[k].origin
			c.values[id+sep+k] = v
		}
		apply(l, c, id, backendOptions, b)
		c.Backends = append(c.Backends, b)
	}
}

// ignored lists every key written in the files or the environment that no table declares,
// outside the enabled backend sections (whose extra keys belong to their driver).
func (l *loader) ignored() []string {
	var out []string
	for _, id := range l.st.order {
		s := l.st.sections[id]
		if _, enabled := l.backends[id]; enabled {
			continue
		}
		for _, k := range s.sortedKeys() {
			if declared(id, k) {
				continue
			}
			out = append(out, fmt.Sprintf("%s/%s (%s)", s.name, k, s.keys[k].origin))
		}
	}
	sort.Strings(out)
	return out
}

func declared(id, key string) bool {
	switch id {
	case sectionID(defaultSection):
		_, ok := lookupDefault(defaultOptions, key)
		_, image := lookupDefault(imageOptions, key)
		_, backup := lookupDefault(backupOptions, key)
		return ok || image || backup
	case sectionID(databaseSection):
		_, ok := lookupDefault(databaseOptions, key)
		return ok
	case sectionID(keystoneSection):
		_, ok := lookupDefault(keystoneOptions, key)
		return ok
	case sectionID(policySection):
		_, ok := lookupDefault(policyOptions, key)
		return ok
	case sectionID(keyManagerSection):
		_, ok := lookupDefault(keyManagerOptions, key)
		return ok
	case sectionID(barbicanSection):
		_, ok := lookupDefault(barbicanOptions, key)
		return ok
	case sectionID(glanceSection):
		_, ok := lookupDefault(glanceOptions, key)
		return ok
	case sectionID(serviceUserSection):
		_, ok := lookupDefault(serviceUserOptions, key)
		return ok
	}
	return false
}
