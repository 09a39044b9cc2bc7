package config

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The options Scoria implements, one table per section, one line per option: name, default as
// it would be written in a file (it may refer to other options), one-line help, and how the
// value is checked and stored. Adding an option is adding a line here and a field to the
// struct; etc/scoria.conf.sample follows (go test ./internal/config -update).

var defaultOptions = []opt[Default]{
	{"transport_url", "", "URL of the message bus, e.g. rabbit://user:password@host:5672/; empty: the in-process bus, which only the all-in-one can use", url("rabbit://user:password@host:5672/", func(d *Default) *string { return &d.TransportURL })},
	{"host", hostnameDefault, "Name of this node in service records and volume hosts (host@backend#pool)", nonEmpty(func(d *Default) *string { return &d.Host })},
	{"my_ip", myIPDefault, "IP address of this host as other hosts reach it (default: the IPv4 address of the interface of the default route, else 127.0.0.1); target_ip_address defaults to it", hostAddress(func(d *Default) *string { return &d.MyIP })},
	{"storage_availability_zone", "nova", "Availability zone of the services of this node", nonEmpty(func(d *Default) *string { return &d.StorageAvailabilityZone })},
	{"default_availability_zone", "$storage_availability_zone", "Availability zone of a new volume that names none", nonEmpty(func(d *Default) *string { return &d.DefaultAvailabilityZone })},
	{"enabled_backends", "", "Backends the volume service runs: names of backend sections, e.g. local,lvmdriver-1", list(func(d *Default) *[]string { return &d.EnabledBackends })},
	{"default_volume_type", "__DEFAULT__", "Volume type of a new volume that names none", nonEmpty(func(d *Default) *string { return &d.DefaultVolumeType })},
	{"default_group_type", "", "Group type GET /group_types/default shows; empty: none (that request answers 404)", str(func(d *Default) *string { return &d.DefaultGroupType })},
	{"auth_strategy", "noauth", "How the API authenticates: noauth takes the project from the URL, keystone checks tokens", oneOf(func(d *Default) *string { return &d.AuthStrategy }, "noauth", "keystone")},
	{"osapi_volume_listen", "0.0.0.0", "Address the Block Storage API listens on", nonEmpty(func(d *Default) *string { return &d.OsapiVolumeListen })},
	{"osapi_volume_listen_port", "8776", "Port the Block Storage API listens on (0: any free port)", integer(0, 65535, func(d *Default) *int { return &d.OsapiVolumePort })},
	{"osapi_volume_workers", "", "Accepted for compatibility: Scoria serves the API from one process", integer(1, noMax, func(d *Default) *int { return &d.OsapiVolumeWorkers })},
	{"osapi_max_limit", "1000", "Most items a list request returns", integer(1, noMax, func(d *Default) *int { return &d.OsapiMaxLimit })},
	{"client_socket_timeout", "900", "Seconds an API connection may stay idle between requests before it is closed; 0: kept for ever. A request itself must arrive within 60 s and be answered within 180 s", seconds(0, func(d *Default) *time.Duration { return &d.ClientSocketTimeout })},
	{"wsgi_keep_alive", "true", "Keep API connections open for further requests; false closes each connection after its answer", boolean(func(d *Default) *bool { return &d.WSGIKeepAlive })},
	{"report_interval", "10", "Seconds between the heartbeats of a service", seconds(1, func(d *Default) *time.Duration { return &d.ReportInterval })},
	{"service_down_time", "60", "Seconds without a heartbeat after which a service counts as down", seconds(1, func(d *Default) *time.Duration { return &d.ServiceDownTime })},
	{"periodic_interval", "60", "Seconds between the capability reports of a volume service to the scheduler", seconds(1, func(d *Default) *time.Duration { return &d.PeriodicInterval })},
	{"message_reap_interval", "86400", "Seconds between the scheduler's removals of expired user messages", seconds(1, func(d *Default) *time.Duration { return &d.MessageReapInterval })},
	{"scheduler_max_attempts", "3", "Backends the scheduler tries for one volume before the request fails", integer(1, noMax, func(d *Default) *int { return &d.SchedulerMaxAttempts })},
	{"scheduler_default_filters", "AvailabilityZoneFilter,CapacityFilter,CapabilitiesFilter", "Filters the scheduler applies, in order: AvailabilityZoneFilter, CapacityFilter, CapabilitiesFilter, DriverFilter, JsonFilter, SameBackendFilter, DifferentBackendFilter", list(func(d *Default) *[]string { return &d.SchedulerDefaultFilters })},
	{"scheduler_default_weighers", "CapacityWeigher", "Weighers that rank the pools that pass the filters: CapacityWeigher, AllocatedCapacityWeigher, ChanceWeigher, VolumeNumberWeigher, GoodnessWeigher", list(func(d *Default) *[]string { return &d.SchedulerDefaultWeighers })},
	{"capacity_weight_multiplier", "1.0", "Multiplier of the CapacityWeigher: positive spreads volumes over the pools with most free capacity, negative stacks them", number(func(d *Default) *float64 { return &d.CapacityWeightMultiplier })},
	{"allocated_capacity_weight_multiplier", "-1.0", "Multiplier of the AllocatedCapacityWeigher: negative prefers the pools with least allocated capacity", number(func(d *Default) *float64 { return &d.AllocatedCapacityWeightMultiplier })},
	{"volume_number_multiplier", "-1.0", "Multiplier of the VolumeNumberWeigher: negative prefers the pools with fewest volumes", number(func(d *Default) *float64 { return &d.VolumeNumberMultiplier })},
	{"state_path", "/var/lib/scoria", "Directory of Scoria's state; other options refer to it as $state_path", nonEmpty(func(d *Default) *string { return &d.StatePath })},
	{"debug", "false", "Log at debug level", boolean(func(d *Default) *bool { return &d.Debug })},
	{"log_file", "", "File to log to, under log_dir when relative; empty: standard error", str(func(d *Default) *string { return &d.LogFile })},
	{"log_dir", "", "Directory of log_file; without log_file, each binary logs to <binary>.log there", str(func(d *Default) *string { return &d.LogDir })},
	{"rpc_response_timeout", "60", "Seconds to wait for the answer to a call over the message bus", seconds(1, func(d *Default) *time.Duration { return &d.RPCResponseTimeout })},
	{"attachment_sweep_age", "600", "Seconds an attachment may stay reserved, attaching or detaching before the API's sweeper resolves it", seconds(1, func(d *Default) *time.Duration { return &d.AttachmentSweepAge })},
	{"resource_query_filters_file", "", "JSON file of the list filters a non-admin may use, by resource, in Cinder's format ({\"volume\": [\"name\", \"status\", …], …}; \"name~\" allows name and name~); Scoria applies its \"volume\" list. Empty: Cinder's default resource_filters.json", filtersFile(func(d *Default) *map[string][]string { return &d.ResourceQueryFilters })},
	{"attachment_sweep_interval", "60", "Seconds between the API's sweeps of attachments left reserved, attaching or detaching", seconds(1, func(d *Default) *time.Duration { return &d.AttachmentSweepInterval })},
	{"storage_reconcile_interval", "3600", "Seconds between a volume service's comparisons of its backend's storage with the database (orphans and missing objects are reported, never deleted); it also runs at start; 0: only at start", seconds(0, func(d *Default) *time.Duration { return &d.StorageReconcileInterval })},
}

var databaseOptions = []opt[Database]{
	{"connection", "", "SQLAlchemy URL of the database, e.g. mysql+pymysql://cinder:password@controller/cinder; the split services require it", url("mysql+pymysql://user:password@host/cinder", func(d *Database) *string { return &d.Connection })},
}

// backendOptions are read in every section named in enabled_backends; the other keys of such
// a section belong to its driver.
var backendOptions = []opt[Backend]{
	{"volume_driver", "", "Driver of the backend: localfile, or a Cinder driver class such as cinder.volume.drivers.lvm.LVMVolumeDriver", str(func(b *Backend) *string { return &b.VolumeDriver })},
	{"volume_backend_name", sectionNameDefault, "Name that volume types select with the volume_backend_name extra spec", nonEmpty(func(b *Backend) *string { return &b.VolumeBackendName })},
	{"backend_availability_zone", "$storage_availability_zone", "Availability zone of the backend", nonEmpty(func(b *Backend) *string { return &b.BackendAvailabilityZone })},
	{"reserved_percentage", "0", "Percentage of the capacity kept free", integer(0, 100, func(b *Backend) *int { return &b.ReservedPercentage })},
	{"filter_function", "", "Expression the DriverFilter evaluates for each request, e.g. volume.size < 500; empty: every request passes", str(func(b *Backend) *string { return &b.FilterFunction })},
	{"goodness_function", "", "Expression from 0 to 100 the GoodnessWeigher ranks the backend's pools by, e.g. 100 - capabilities.utilization; empty: 0", str(func(b *Backend) *string { return &b.GoodnessFunction })},
	{"max_over_subscription_ratio", "20.0", "How far thin provisioned capacity may exceed the real one; auto: computed from use", ratio(func(b *Backend) *string { return &b.MaxOverSubscriptionRatio })},
	{"target_helper", "tgtadm", "Target helper that exports the backend's local devices to hosts: Scoria implements tgtadm, or none; Cinder's other helpers are accepted and refused when a backend would use them. The local-file backend exports only when the section sets it; otherwise its volumes attach as local files of this host", oneOf(func(b *Backend) *string { return &b.TargetHelper }, "tgtadm", "lioadm", "scstadmin", "iscsictl", "ietadm", "nvmet", "spdk-nvmeof", "fake", "none")},
	{"target_protocol", "iscsi", "Protocol of the exports: Scoria implements iscsi; Cinder's others are accepted and refused when a backend would use them", oneOf(func(b *Backend) *string { return &b.TargetProtocol }, "iscsi", "iser", "nvmet_rdma", "nvmet_tcp")},
	{"target_ip_address", "$my_ip", "Address of the iSCSI portal given to hosts", hostAddress(func(b *Backend) *string { return &b.TargetIPAddress })},
	{"target_port", "3260", "Port of the iSCSI portal", integer(1, 65535, func(b *Backend) *int { return &b.TargetPort })},
	{"target_prefix", "iqn.2010-10.org.openstack:", "Prefix of the targets' IQNs, followed by the volume's storage name", nonEmpty(func(b *Backend) *string { return &b.TargetPrefix })},
	{"volumes_dir", "$state_path/volumes", "Directory of the persistent target files (tgt-volume-<id>.conf, tgt's format), from which targets come back after a tgtd restart", nonEmpty(func(b *Backend) *string { return &b.VolumesDir })},
	{"use_chap_auth", "false", "Require CHAP authentication of the hosts that log in to a target", boolean(func(b *Backend) *bool { return &b.UseCHAPAuth })},
	{"chap_username", "", "CHAP user name of every target; empty: one generated per volume", str(func(b *Backend) *string { return &b.CHAPUsername })},
	{"chap_password", "", "CHAP password of every target; empty: one generated per volume", str(func(b *Backend) *string { return &b.CHAPPassword })},
	{"image_volume_cache_enabled", "false", "Keep a volume of each image a volume was made from on this backend (owned by the internal tenant) and clone it for the next volumes of that image", boolean(func(b *Backend) *bool { return &b.ImageVolumeCacheEnabled })},
	{"image_volume_cache_max_size_gb", "0", "Most GiB the image-volume cache of this backend holds (least recently used volumes go first); 0: no bound", integer(0, noMax, func(b *Backend) *int { return &b.ImageVolumeCacheMaxSizeGB })},
	{"image_volume_cache_max_count", "0", "Most volumes the image-volume cache of this backend holds; 0: no bound", integer(0, noMax, func(b *Backend) *int { return &b.ImageVolumeCacheMaxCount })},
	{"iscsi_write_cache", "on", "Write cache of the targets' logical units: on or off", oneOf(func(b *Backend) *string { return &b.ISCSIWriteCache }, "on", "off")},
}

// Option describes one option Scoria implements, for references such as scoria-manage's.
type Option struct {
	Section string // "DEFAULT", "database", or BackendSection
	Name    string
	Type    string // what a value must be, e.g. "integer, at least 1"
	Default string // as written in a file; "" is none; <hostname> and <section name> are computed
	Help    string
}

// BackendSection stands in Option.Section for every section named in enabled_backends.
const BackendSection = "<backend>"

// Defaults computed at load time.
const (
	hostnameDefault    = "<hostname>"     // os.Hostname()
	myIPDefault        = "<my ip>"        // detectMyIP()
	sectionNameDefault = "<section name>" // the name of the backend section
)

// Options lists the options Scoria implements, section by section, in table order.
func Options() []Option {
	var out []Option
	out = appendOptions(out, defaultSection, defaultOptions)
	out = appendOptions(out, defaultSection, imageOptions)
	out = appendOptions(out, defaultSection, backupOptions)
	out = appendOptions(out, databaseSection, databaseOptions)
	out = appendOptions(out, keystoneSection, keystoneOptions)
	out = appendOptions(out, policySection, policyOptions)
	out = appendOptions(out, keyManagerSection, keyManagerOptions)
	out = appendOptions(out, barbicanSection, barbicanOptions)
	out = appendOptions(out, glanceSection, glanceOptions)
	out = appendOptions(out, serviceUserSection, serviceUserOptions)
	return appendOptions(out, BackendSection, backendOptions)
}

func appendOptions[T any](out []Option, section string, table []opt[T]) []Option {
	for _, o := range table {
		out = append(out, Option{Section: section, Name: o.name, Type: o.kind, Default: o.def, Help: o.help})
	}
	return out
}

// opt is one line of an option table.
type opt[T any] struct {
	name string
	def  string
	help string
	field[T]
}

// field checks a value and stores it in a T.
type field[T any] struct {
	kind    string
	emptyOK bool // "" is a value; otherwise an empty value means the default
	set     func(t *T, v string) error
}

func lookupDefault[T any](table []opt[T], key string) (string, bool) {
	for _, o := range table {
		if o.name == key {
			return o.def, true
		}
	}
	return "", false
}

const (
	noMax      = math.MaxInt
	maxSeconds = 100 * 365 * 24 * 3600 // a century: far below time.Duration's limit
)

// filtersFile reads a resource_query_filters_file at load, so that a missing or malformed file
// stops the service at start: Cinder's JSON object of filter lists by resource.
func filtersFile[T any](p func(*T) *map[string][]string) field[T] {
	return field[T]{kind: "path of a JSON file", emptyOK: true, set: func(t *T, v string) error {
		if strings.TrimSpace(v) == "" {
			*p(t) = nil
			return nil
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("read %s: %w", v, err)
		}
		var m map[string][]string
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s is not a JSON object of filter lists by resource: %w", v, err)
		}
		*p(t) = m
		return nil
	}}
}

func str[T any](p func(*T) *string) field[T] {
	return field[T]{kind: "string", emptyOK: true, set: func(t *T, v string) error {
		*p(t) = v
		return nil
	}}
}

func nonEmpty[T any](p func(*T) *string) field[T] {
	return field[T]{kind: "string, not empty", emptyOK: true, set: func(t *T, v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("must not be empty")
		}
		*p(t) = v
		return nil
	}}
}

// hostAddress is oslo.config's HostAddressOpt: an IPv4 or IPv6 address or a host name
// (RFC 1123 labels), so that a typo fails at start rather than in a hypervisor's connection.
func hostAddress[T any](p func(*T) *string) field[T] {
	return field[T]{kind: "IP address or host name", set: func(t *T, v string) error {
		if net.ParseIP(v) == nil && !isHostName(v) {
			return fmt.Errorf("%q is neither an IP address nor a host name", v)
		}
		*p(t) = v
		return nil
	}}
}

// isHostName reports whether s is a host name: dot-separated labels of letters, digits and
// inner hyphens, each 1–63 characters, 253 in all.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// url accepts "" or something with a scheme; the package that connects judges the rest. The
// message does not repeat the value, which may hold a password.
func url[T any](example string, p func(*T) *string) field[T] {
	return field[T]{kind: "URL", emptyOK: true, set: func(t *T, v string) error {
		if scheme, _, ok := strings.Cut(v, "://"); v != "" && (!ok || scheme == "" || strings.ContainsAny(scheme, " \t/")) {
			return fmt.Errorf("not a URL like %s", example)
		}
		*p(t) = v
		return nil
	}}
}

func oneOf[T any](p func(*T) *string, choices ...string) field[T] {
	return field[T]{kind: "one of " + strings.Join(choices, ", "), emptyOK: true, set: func(t *T, v string) error {
		v, err := parseChoice(v, choices)
		if err != nil {
			return err
		}
		*p(t) = v
		return nil
	}}
}

func integer[T any](min, max int, p func(*T) *int) field[T] {
	return field[T]{kind: "integer, " + intRange(min, max), set: func(t *T, v string) error {
		n, err := parseInt(v, min, max)
		if err != nil {
			return err
		}
		*p(t) = n
		return nil
	}}
}

func seconds[T any](min int, p func(*T) *time.Duration) field[T] {
	return field[T]{kind: "seconds, " + intRange(min, noMax), set: func(t *T, v string) error {
		n, err := parseInt(v, min, noMax)
		if err != nil {
			return err
		}
		if n > maxSeconds {
			return fmt.Errorf("%q is more than %d seconds", v, maxSeconds)
		}
		*p(t) = time.Duration(n) * time.Second
		return nil
	}}
}

func boolean[T any](p func(*T) *bool) field[T] {
	return field[T]{kind: "boolean", set: func(t *T, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*p(t) = b
		return nil
	}}
}

func list[T any](p func(*T) *[]string) field[T] {
	return field[T]{kind: "comma-separated list", emptyOK: true, set: func(t *T, v string) error {
		*p(t) = splitList(v)
		return nil
	}}
}

func number[T any](p func(*T) *float64) field[T] {
	return field[T]{kind: "number", set: func(t *T, v string) error {
		f, err := parseFloat(v)
		if err != nil {
			return err
		}
		*p(t) = f
		return nil
	}}
}

// ratio is max_over_subscription_ratio: "auto" or a number of at least 1, kept as written.
func ratio[T any](p func(*T) *string) field[T] {
	return field[T]{kind: `number of at least 1, or "auto"`, set: func(t *T, v string) error {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, "auto") {
			*p(t) = "auto"
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f < 1 || math.IsInf(f, 0) {
			return fmt.Errorf(`%q must be "auto" or a number of at least 1`, v)
		}
		*p(t) = v
		return nil
	}}
}

func intRange(min, max int) string {
	if max == noMax {
		return fmt.Sprintf("at least %d", min)
	}
	return fmt.Sprintf("%d to %d", min, max)
}

// The parsers below are oslo.config's types, shared by the tables and Backend's accessors.

func parseInt(v string, min, max int) (int, error) {
	s := strings.TrimSpace(v)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n < min || n > max {
		if max == noMax {
			return 0, fmt.Errorf("%q must be at least %d", v, min)
		}
		return 0, fmt.Errorf("%q must be between %d and %d", v, min, max)
	}
	return n, nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean: write true or false (or yes/no, on/off, 1/0)", v)
}

func parseFloat(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

func parseChoice(v string, choices []string) (string, error) {
	s := strings.TrimSpace(v)
	for _, c := range choices {
		if s == c {
			return c, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", v, strings.Join(choices, ", "))
}

// splitList reads an oslo ListOpt: comma-separated, blanks trimmed, empty items dropped.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
