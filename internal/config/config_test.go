package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, nil)
	want := Default{
		Host:                     hostname(t),
		MyIP:                     detectMyIP(),
		StorageAvailabilityZone:  "nova",
		DefaultAvailabilityZone:  "nova",
		DefaultVolumeType:        "__DEFAULT__",
		AuthStrategy:             "noauth",
		OsapiVolumeListen:        "0.0.0.0",
		OsapiVolumePort:          8776,
		OsapiMaxLimit:            1000,
		ClientSocketTimeout:      900 * time.Second,
		WSGIKeepAlive:            true,
		ReportInterval:           10 * time.Second,
		ServiceDownTime:          60 * time.Second,
		PeriodicInterval:         60 * time.Second,
		MessageReapInterval:      86400 * time.Second,
		SchedulerMaxAttempts:     3,
		SchedulerDefaultFilters:  []string{"AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter"},
		SchedulerDefaultWeighers: []string{"CapacityWeigher"},
		CapacityWeightMultiplier: 1, AllocatedCapacityWeightMultiplier: -1, VolumeNumberMultiplier: -1,
		StatePath:          "/var/lib/scoria",
		RPCResponseTimeout: 60 * time.Second,
		AttachmentSweepAge: 600 * time.Second, AttachmentSweepInterval: 60 * time.Second,
		StorageReconcileInterval: time.Hour,
	}
	if !reflect.DeepEqual(c.Default, want) {
		t.Errorf("Default = %+v\nwant      %+v", c.Default, want)
	}
	if c.Database.Connection != "" || len(c.Backends) != 0 || len(c.Ignored) != 0 || len(c.Files) != 0 {
		t.Errorf("empty configuration: got %+v", c)
	}
}

func TestLoadEveryOption(t *testing.T) {
	p := conf(t, `[DEFAULT]
transport_url = rabbit://u:p@mq:5672/
host = node-1
my_ip = 10.1.2.3
storage_availability_zone = az1
default_availability_zone = az2
enabled_backends = lvm-1,local
default_volume_type = fast
auth_strategy = keystone
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 18776
osapi_volume_workers = 4
osapi_max_limit = 50
report_interval = 5
service_down_time = 30
periodic_interval = 20
scheduler_max_attempts = 1
message_reap_interval = 3600
scheduler_default_filters = CapacityFilter, DriverFilter
scheduler_default_weighers = GoodnessWeigher,CapacityWeigher
capacity_weight_multiplier = -1.5
allocated_capacity_weight_multiplier = 2
volume_number_multiplier = 0
state_path = /srv/scoria
debug = True
log_file = api.log
log_dir = /var/log/scoria
rpc_response_timeout = 90

[database]
connection = mysql+pymysql://cinder:secret@db/cinder?charset=utf8

[lvm-1]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
volume_backend_name = LVM
backend_availability_zone = az3
reserved_percentage = 10
max_over_subscription_ratio = 1.5

[local]
volume_driver = localfile
max_over_subscription_ratio = Auto
`)
	c := mustLoad(t, []string{p})
	want := Default{
		TransportURL: "rabbit://u:p@mq:5672/", Host: "node-1", StorageAvailabilityZone: "az1", MyIP: "10.1.2.3",
		DefaultAvailabilityZone: "az2", EnabledBackends: []string{"lvm-1", "local"}, DefaultVolumeType: "fast",
		AuthStrategy: "keystone", OsapiVolumeListen: "127.0.0.1", OsapiVolumePort: 18776, OsapiVolumeWorkers: 4,
		OsapiMaxLimit: 50, ClientSocketTimeout: 900 * time.Second, WSGIKeepAlive: true, ReportInterval: 5 * time.Second, ServiceDownTime: 30 * time.Second,
		PeriodicInterval: 20 * time.Second, SchedulerMaxAttempts: 1, MessageReapInterval: time.Hour, StatePath: "/srv/scoria", Debug: true,
		SchedulerDefaultFilters: []string{"CapacityFilter", "DriverFilter"}, SchedulerDefaultWeighers: []string{"GoodnessWeigher", "CapacityWeigher"},
		CapacityWeightMultiplier: -1.5, AllocatedCapacityWeightMultiplier: 2, VolumeNumberMultiplier: 0,
		LogFile: "api.log", LogDir: "/var/log/scoria", RPCResponseTimeout: 90 * time.Second,
		AttachmentSweepAge: 600 * time.Second, AttachmentSweepInterval: 60 * time.Second,
		StorageReconcileInterval: time.Hour,
	}
	if !reflect.DeepEqual(c.Default, want) {
		t.Errorf("Default = %+v\nwant      %+v", c.Default, want)
	}
	if c.Database.Connection != "mysql+pymysql://cinder:secret@db/cinder?charset=utf8" {
		t.Errorf("Connection = %q", c.Database.Connection)
	}
	if len(c.Backends) != 2 || c.Backends[0].Name != "lvm-1" || c.Backends[1].Name != "local" {
		t.Fatalf("Backends = %v, want lvm-1 then local", c.Backends)
	}
	type common struct {
		Name, File, Driver, BackendName, Zone string
		Reserved                              int
		Ratio                                 string
	}
	got := func(b *Backend) common {
		return common{b.Name, b.File, b.VolumeDriver, b.VolumeBackendName, b.BackendAvailabilityZone, b.ReservedPercentage, b.MaxOverSubscriptionRatio}
	}
	if g, w := got(c.Backends[0]), (common{"lvm-1", p, "cinder.volume.drivers.lvm.LVMVolumeDriver", "LVM", "az3", 10, "1.5"}); g != w {
		t.Errorf("lvm-1 = %+v, want %+v", g, w)
	}
	// Defaults: the section name, the storage zone, 0, 20.0; "auto" in any case.
	if g, w := got(c.Backends[1]), (common{"local", p, "localfile", "local", "az1", 0, "auto"}); g != w {
		t.Errorf("local = %+v, want %+v", g, w)
	}
	if len(c.Ignored) != 0 {
		t.Errorf("Ignored = %q, want none", c.Ignored)
	}
}

// TestOptionTablesMatchStructs keeps the tables and the structs in step: every field of
// Default and Database has a line, and every default parses.
func TestOptionTablesMatchStructs(t *testing.T) {
	if n := reflect.TypeOf(Default{}).NumField(); n != len(defaultOptions) {
		t.Errorf("Default has %d fields, the [DEFAULT] table %d lines", n, len(defaultOptions))
	}
	if n := reflect.TypeOf(Database{}).NumField(); n != len(databaseOptions) {
		t.Errorf("Database has %d fields, the [database] table %d lines", n, len(databaseOptions))
	}
	seen := map[string]bool{}
	for _, o := range Options() {
		id := o.Section + "/" + o.Name
		if seen[id] {
			t.Errorf("%s is declared twice", id)
		}
		seen[id] = true
		if o.Help == "" || o.Type == "" || o.Name != strings.ToLower(o.Name) {
			t.Errorf("%s: help %q, type %q: want both, and a lower-case name", id, o.Help, o.Type)
		}
	}
	checkDefaults(t, defaultOptions)
	checkDefaults(t, databaseOptions)
	checkDefaults(t, backendOptions)
}

func checkDefaults[T any](t *testing.T, table []opt[T]) {
	t.Helper()
	for _, o := range table {
		if o.def == "" || strings.HasPrefix(o.def, "$") {
			continue
		}
		var target T
		if err := o.set(&target, strings.NewReplacer(hostnameDefault, "h", sectionNameDefault, "s", myIPDefault, "192.0.2.1").Replace(o.def)); err != nil {
			t.Errorf("default of %s does not parse: %v", o.name, err)
		}
	}
}

// TestINISyntax reads values as oslo.config's iniparser does.
func TestINISyntax(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // the value of x; "<unset>" when x is not set
	}{
		{"equals", "x = v", "v"},
		{"no blanks", "x=v", "v"},
		{"colon", "x: v", "v"},
		{"first delimiter splits", "x = url=http://a:1", "url=http://a:1"},
		{"colon before equals", "x : a=b", "a=b"},
		{"no inline comment #", "x = a # b", "a # b"},
		{"no inline comment ;", "x = a ; b", "a ; b"},
		{"hash comment", "# x = commented", "<unset>"},
		{"semicolon comment", "; x = commented", "<unset>"},
		{"double quotes removed", `x = "quoted value"`, "quoted value"},
		{"single quotes removed", `x = 'single'`, "single"},
		{"unmatched quotes kept", `x = "half'`, `"half'`},
		{"inner quotes kept", `x = a "b" c`, `a "b" c`},
		{"empty quotes", `x = ""`, ""},
		{"empty", "x =", ""},
		{"trailing blanks", "x = v   \t", "v"},
		{"continuation lines", "x = first\n  second\n\tthird", "first\nsecond\nthird"},
		{"continuation after empty", "x =\n  only", "\nonly"},
		{"no backslash continuation", "x = a\\\ny = b", `a\`},
		{"last wins in a section", "x = 1\nx = 2", "2"},
		{"name in capitals", "X = up", "up"},
		{"names differing in case", "x = 1\nX = 2\nx = 3\nX = 4", "4"},
		{"crlf", "x = v\r\ny = w\r", "v"},
		{"dollar escape", "x = $$HOME", "$HOME"},
		{"section repeated", "[other]\nz = 1\n[b]\nx = again", "again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, []string{conf(t, withBackend(tt.body))})
			if got := backend(t, c, "b").String("x", "<unset>"); got != tt.want {
				t.Errorf("x = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSectionNames(t *testing.T) {
	t.Run("[default] is not [DEFAULT]", func(t *testing.T) {
		p := conf(t, "[default]\nhost = wrong\n")
		c := mustLoad(t, []string{p})
		if c.Default.Host != hostname(t) {
			t.Errorf("Host = %q, want the hostname: [default] is another section", c.Default.Host)
		}
		if want := []string{"default/host (" + p + ")"}; !slices.Equal(c.Ignored, want) {
			t.Errorf("Ignored = %q, want %q", c.Ignored, want)
		}
	})
	t.Run("other sections ignore case", func(t *testing.T) {
		c := mustLoad(t, []string{conf(t, "[DEFAULT]\nenabled_backends = lvm-1\n[Database]\nconnection = sqlite:///x.db\n[LVM-1]\nvolume_driver = localfile\n")})
		if c.Database.Connection != "sqlite:///x.db" {
			t.Errorf("[Database] connection = %q", c.Database.Connection)
		}
		if b := backend(t, c, "lvm-1"); b.VolumeDriver != "localfile" || b.VolumeBackendName != "lvm-1" {
			t.Errorf("[LVM-1] = %q, %q", b.VolumeDriver, b.VolumeBackendName)
		}
	})
	t.Run("enabled_backends spelling is the name", func(t *testing.T) {
		c := mustLoad(t, []string{conf(t, "[DEFAULT]\nenabled_backends = Fast\n[fast]\nvolume_driver = localfile\n")})
		if b := backend(t, c, "Fast"); b.VolumeBackendName != "Fast" {
			t.Errorf("volume_backend_name = %q, want the name as enabled_backends writes it", b.VolumeBackendName)
		}
	})
	t.Run("keys before a header are [DEFAULT]", func(t *testing.T) {
		c := mustLoad(t, []string{conf(t, "host = early\n[database]\n")})
		if c.Default.Host != "early" {
			t.Errorf("Host = %q", c.Default.Host)
		}
	})
}

func TestBooleans(t *testing.T) {
	for v, want := range map[string]bool{
		"true": true, "True": true, "TRUE": true, "yes": true, "Yes": true, "on": true, "ON": true, "1": true,
		"false": false, "False": false, "no": false, "NO": false, "off": false, "Off": false, "0": false, "": false,
	} {
		t.Run(v, func(t *testing.T) {
			c := mustLoad(t, []string{conf(t, "[DEFAULT]\ndebug = "+v+"\n")})
			if c.Default.Debug != want {
				t.Errorf("debug = %q: got %v, want %v", v, c.Default.Debug, want)
			}
		})
	}
}

func TestLists(t *testing.T) {
	tests := []struct {
		value string
		want  []string
	}{
		{"a,b", []string{"a", "b"}},
		{" a , b ", []string{"a", "b"}},
		{"a,,b,", []string{"a", "b"}},
		{"a", []string{"a"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c := mustLoad(t, []string{conf(t, "[DEFAULT]\nenabled_backends = "+tt.value+"\n[a]\nvolume_driver = x\n[b]\nvolume_driver = y\n")})
			if !slices.Equal(c.Default.EnabledBackends, tt.want) {
				t.Errorf("EnabledBackends = %q, want %q", c.Default.EnabledBackends, tt.want)
			}
			if len(c.Backends) != len(tt.want) {
				t.Errorf("%d backends, want %d", len(c.Backends), len(tt.want))
			}
		})
	}
}

// TestEmptyMeansDefault: an empty number or boolean is its default, an empty string is empty.
func TestEmptyMeansDefault(t *testing.T) {
	c := mustLoad(t, []string{conf(t, "[DEFAULT]\nreport_interval =\nosapi_volume_workers =\ndebug =\ntransport_url =\nlog_dir =\n")})
	if c.Default.ReportInterval != 10*time.Second || c.Default.OsapiVolumeWorkers != 0 || c.Default.Debug {
		t.Errorf("empty values: %+v", c.Default)
	}
	if c.Default.TransportURL != "" || len(c.Ignored) != 0 {
		t.Errorf("transport_url = %q, Ignored = %q", c.Default.TransportURL, c.Ignored)
	}
}

// TestBadValues: each message names the file, the section and the key, and says why.
func TestBadValues(t *testing.T) {
	tests := []struct {
		name, content string
		want          string // {file} stands for the file
	}{
		{"port not a number", "[DEFAULT]\nosapi_volume_listen_port = abc",
			`{file}: [DEFAULT] osapi_volume_listen_port: "abc" is not an integer`},
		{"my_ip not an address", "[DEFAULT]\nmy_ip = 10.0.0.1:3260",
			`{file}: [DEFAULT] my_ip: "10.0.0.1:3260" is neither an IP address nor a host name`},
		{"target_ip_address not an address", "[DEFAULT]\nenabled_backends = b\n[b]\nvolume_driver = localfile\ntarget_ip_address = -bad-.example",
			`{file}: [b] target_ip_address: "-bad-.example" is neither an IP address nor a host name`},
		{"port out of range", "[DEFAULT]\nosapi_volume_listen_port = 70000",
			`{file}: [DEFAULT] osapi_volume_listen_port: "70000" must be between 0 and 65535`},
		{"negative interval", "[DEFAULT]\nreport_interval = -1",
			`{file}: [DEFAULT] report_interval: "-1" must be at least 1`},
		{"fractional seconds", "[DEFAULT]\nservice_down_time = 1.5",
			`{file}: [DEFAULT] service_down_time: "1.5" is not an integer`},
		{"absurd seconds", "[DEFAULT]\nrpc_response_timeout = 99999999999",
			`{file}: [DEFAULT] rpc_response_timeout: "99999999999" is more than 3153600000 seconds`},
		{"no attempts", "[DEFAULT]\nscheduler_max_attempts = 0",
			`{file}: [DEFAULT] scheduler_max_attempts: "0" must be at least 1`},
		{"no workers", "[DEFAULT]\nosapi_volume_workers = 0",
			`{file}: [DEFAULT] osapi_volume_workers: "0" must be at least 1`},
		{"not a boolean", "[DEFAULT]\ndebug = maybe",
			`{file}: [DEFAULT] debug: "maybe" is not a boolean: write true or false (or yes/no, on/off, 1/0)`},
		{"unknown auth", "[DEFAULT]\nauth_strategy = ldap",
			`{file}: [DEFAULT] auth_strategy: "ldap" is not one of noauth, keystone`},
		{"empty host", "[DEFAULT]\nhost =",
			`{file}: [DEFAULT] host: must not be empty`},
		{"transport not a URL", "[DEFAULT]\ntransport_url = localhost:5672",
			`{file}: [DEFAULT] transport_url: not a URL like rabbit://user:password@host:5672/`},
		{"database not a URL", "[database]\nconnection = cinder.db",
			`{file}: [database] connection: not a URL like mysql+pymysql://user:password@host/cinder`},
		{"reserved over 100", withBackend("reserved_percentage=150"),
			`{file}: [b] reserved_percentage: "150" must be between 0 and 100`},
		{"ratio under 1", withBackend("max_over_subscription_ratio = 0.5"),
			`{file}: [b] max_over_subscription_ratio: "0.5" must be "auto" or a number of at least 1`},
		{"ratio not a number", withBackend("max_over_subscription_ratio = lots"),
			`{file}: [b] max_over_subscription_ratio: "lots" must be "auto" or a number of at least 1`},
		{"backend section as written", "[DEFAULT]\nenabled_backends = lvm\n[LVM]\nreserved_percentage = -1",
			`{file}: [LVM] reserved_percentage: "-1" must be between 0 and 100`},
		{"missing backend section", "[DEFAULT]\nenabled_backends = lvm-1, lvm-2, lvm-3\n[lvm-1]\nvolume_driver = x",
			`{file}: [DEFAULT] enabled_backends: names [lvm-2], [lvm-3] but no such section exists`},
		{"backend twice", "[DEFAULT]\nenabled_backends = b, B\n[b]\nvolume_driver = x",
			`{file}: [DEFAULT] enabled_backends: names B twice (as "b" and "B")`},
		{"DEFAULT as a backend", "[DEFAULT]\nenabled_backends = DEFAULT",
			`{file}: [DEFAULT] enabled_backends: names [DEFAULT], which is not a backend section`},
		{"bad reference in a backend option", withBackend("volume_backend_name = $nope"),
			`{file}: [b] volume_backend_name: "$nope" refers to $nope, which is not set in [b] or [DEFAULT] (write $$ for a literal $)`},
		{"bad reference", "[DEFAULT]\nstate_path = $nope/x",
			"{file}: [DEFAULT] state_path: \"$nope/x\" refers to $nope, which is not set in [DEFAULT] (write $$ for a literal $)\n" +
				"[DEFAULT] image_conversion_dir: \"$state_path/conversion\" refers to $nope (through $state_path), which is not set in [DEFAULT] (write $$ for a literal $)\n" +
				"[DEFAULT] backup_posix_path: \"$state_path/backup\" refers to $nope (through $state_path), which is not set in [DEFAULT] (write $$ for a literal $)\n" +
				"[DEFAULT] backup_mount_point_base: \"$state_path/backup_mount\" refers to $nope (through $state_path), which is not set in [DEFAULT] (write $$ for a literal $)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := conf(t, tt.content+"\n")
			_, err := Load([]string{p}, nil)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *config.Error", err)
			}
			if ce.File != p || ce.Section == "" || ce.Key == "" {
				t.Errorf("Error %+v: want File %s, a section and a key", ce, p)
			}
			if got, want := err.Error(), fill(tt.want, p); got != want {
				t.Errorf("error\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestAllErrorsTogether(t *testing.T) {
	p := conf(t, "[DEFAULT]\nreport_interval = x\ndebug = maybe\nenabled_backends = b\n[b]\nreserved_percentage = 101\n")
	_, err := Load([]string{p}, nil)
	errs := configErrors(t, err)
	var keys []string
	for _, e := range errs {
		if e.File != p {
			t.Errorf("%v: File = %q, want %q", e, e.File, p)
		}
		keys = append(keys, e.Section+"/"+e.Key)
	}
	if want := []string{"DEFAULT/report_interval", "DEFAULT/debug", "b/reserved_percentage"}; !slices.Equal(keys, want) {
		t.Errorf("errors on %q, want %q", keys, want)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          string
	}{
		{"no delimiter", "[DEFAULT]\nhost = a\njust words\n", `{file}: line 3: "just words" is not "key = value", a [section] or a comment`},
		{"no key", "[DEFAULT]\n= value\n", `{file}: line 2: "= value" has no option name before the =`},
		{"unclosed section", "[DEFAULT\nhost = a\n", `{file}: line 1: "[DEFAULT" has no closing ]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := conf(t, tt.content)
			_, err := Load([]string{p}, nil)
			if err == nil || err.Error() != fill(tt.want, p) {
				t.Errorf("error\n got %v\nwant %s", err, fill(tt.want, p))
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		good := conf(t, "[DEFAULT]\n")
		missing := dir + "/missing.conf"
		_, err := Load([]string{good, missing}, nil)
		errs := configErrors(t, err)
		if len(errs) != 1 || errs[0].File != missing || err.Error() != missing+": no such file" {
			t.Errorf("error = %v, want %s: no such file", err, missing)
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, err := Load([]string{dir}, nil)
		if err == nil || !strings.HasPrefix(err.Error(), dir+": ") {
			t.Errorf("error = %v, want one naming %s", err, dir)
		}
	})
}

func TestRequire(t *testing.T) {
	p := conf(t, "[database]\nconnection = sqlite:///x.db\n")
	c := mustLoad(t, []string{p})
	for _, section := range []string{"database", "Database"} {
		if err := c.Require(section, "connection"); err != nil {
			t.Errorf("Require(%s, connection) = %v, want nil", section, err)
		}
	}
	err := c.Require("DEFAULT", "transport_url")
	want := p + ": [DEFAULT] transport_url: a value is required: set it in the file or as SCORIA_DEFAULT__TRANSPORT_URL"
	if err == nil || err.Error() != want {
		t.Errorf("Require = %v\nwant %s", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Section != "DEFAULT" || ce.Key != "transport_url" {
		t.Errorf("Require error = %#v", err)
	}

	c = mustLoad(t, nil)
	want = "[database] connection: a value is required: no configuration file was read (give --config-file), nor is SCORIA_DATABASE__CONNECTION set"
	if err := c.Require("database", "connection"); err == nil || err.Error() != want {
		t.Errorf("Require without files = %v\nwant %s", err, want)
	}
	c = mustLoad(t, nil, "SCORIA_DATABASE__CONNECTION=sqlite:///env.db")
	if err := c.Require("database", "connection"); err != nil {
		t.Errorf("Require with the environment = %v", err)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "/etc/scoria/scoria.conf", Section: "lvm", Key: "volume_clear", Reason: `"foo" is not one of zero, none`},
			`/etc/scoria/scoria.conf: [lvm] volume_clear: "foo" is not one of zero, none`},
		{Error{File: "/a.conf", Reason: "no such file"}, "/a.conf: no such file"},
		{Error{Section: "database", Key: "connection", Reason: "required"}, "[database] connection: required"},
		{Error{File: "/a.conf", Section: "lvm", Reason: "odd"}, "/a.conf: [lvm]: odd"},
		{Error{File: "$SCORIA_X__Y", Key: "y", Reason: "odd"}, "$SCORIA_X__Y: y: odd"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestIgnored(t *testing.T) {
	p := conf(t, `[DEFAULT]
enabled_backends = lvm-1
rootwrap_config = /etc/cinder/rootwrap.conf
broken_reference = $not_an_option

[database]
connection = sqlite:///x.db
max_pool_size = 10

[keystone_authtoken]
memcached_servers = localhost:11211

[oslo_concurrency]
lock_path = $state_path/lock

[lvm-1]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
volume_group = cinder-volumes

[lvm-2]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver

[empty]
`)
	c := mustLoad(t, []string{p})
	want := []string{
		"DEFAULT/broken_reference (" + p + ")",
		"DEFAULT/rootwrap_config (" + p + ")",
		"database/max_pool_size (" + p + ")",
		"keystone_authtoken/memcached_servers (" + p + ")",
		"lvm-2/volume_driver (" + p + ")",
		"oslo_concurrency/lock_path (" + p + ")",
	}
	if !slices.Equal(c.Ignored, want) {
		t.Errorf("Ignored =\n%s\nwant\n%s", strings.Join(c.Ignored, "\n"), strings.Join(want, "\n"))
	}
	if got := backend(t, c, "lvm-1").UnusedKeys(); !slices.Equal(got, []string{"volume_group"}) {
		t.Errorf("UnusedKeys = %q, want the driver's volume_group only", got)
	}
}

func TestFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.conf", `[DEFAULT]
host = from-a
osapi_max_limit = 5
rootwrap_config = /a/rootwrap.conf
report_interval = -1
[b1]
volume_driver = localfile
reserved_percentage = 1
local_volume_dir = /a
`)
	b := writeFile(t, dir, "b.conf", `[DEFAULT]
host = from-b
enabled_backends = b1
rootwrap_config = /b/rootwrap.conf
report_interval = 7
[B1]
reserved_percentage = 2
`)
	c := mustLoad(t, []string{a, b})
	if c.Default.Host != "from-b" || c.Default.OsapiMaxLimit != 5 {
		t.Errorf("host %q (want from-b), osapi_max_limit %d (want 5 from a)", c.Default.Host, c.Default.OsapiMaxLimit)
	}
	if c.Default.ReportInterval != 7*time.Second {
		t.Errorf("report_interval = %v: the bad value of a is overridden by b", c.Default.ReportInterval)
	}
	b1 := backend(t, c, "b1")
	if b1.ReservedPercentage != 2 || b1.String("local_volume_dir", "") != "/a" || b1.VolumeDriver != "localfile" {
		t.Errorf("b1 = %+v: keys merge across files, later wins", b1)
	}
	if b1.File != b {
		t.Errorf("b1.File = %q, want the last file with the section, %q", b1.File, b)
	}
	if want := []string{"DEFAULT/rootwrap_config (" + b + ")"}; !slices.Equal(c.Ignored, want) {
		t.Errorf("Ignored = %q, want %q: once, from the file that won", c.Ignored, want)
	}
	if !slices.Equal(c.Files, []string{a, b}) {
		t.Errorf("Files = %q", c.Files)
	}

	// A bad value that wins is reported against the file that set it, and the backend's
	// accessors name the file of the key, not of the section.
	bad := writeFile(t, dir, "bad.conf", "[DEFAULT]\nosapi_max_limit = none\n[b1]\nvolume_clear_size = big\n")
	_, err := Load([]string{bad, b}, nil)
	if want := bad + `: [DEFAULT] osapi_max_limit: "none" is not an integer`; err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant  %s", err, want)
	}
	c = mustLoad(t, []string{a, bad, b}, "SCORIA_DEFAULT__OSAPI_MAX_LIMIT=9")
	_, err = backend(t, c, "b1").Int("volume_clear_size", 0)
	if want := bad + `: [B1] volume_clear_size: "big" is not an integer`; err == nil || err.Error() != want {
		t.Errorf("Int error = %v\nwant %s", err, want)
	}
}

func TestEnvironment(t *testing.T) {
	file := conf(t, `[DEFAULT]
host = from-file
transport_url = rabbit://mq/
enabled_backends = lvm-1
[lvm-1]
volume_driver = localfile
volume_group = file-vg
`)
	tests := []struct {
		name  string
		files []string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{"overrides a file", []string{file}, []string{"SCORIA_DEFAULT__HOST=from-env"}, func(t *testing.T, c *Config) {
			if c.Default.Host != "from-env" {
				t.Errorf("Host = %q", c.Default.Host)
			}
		}},
		{"empty value overrides too", []string{file}, []string{"SCORIA_DEFAULT__TRANSPORT_URL="}, func(t *testing.T, c *Config) {
			if c.Default.TransportURL != "" {
				t.Errorf("TransportURL = %q", c.Default.TransportURL)
			}
		}},
		{"section no file has", []string{file}, []string{"SCORIA_DATABASE__CONNECTION=sqlite:///env.db"}, func(t *testing.T, c *Config) {
			if c.Database.Connection != "sqlite:///env.db" {
				t.Errorf("Connection = %q", c.Database.Connection)
			}
		}},
		{"backend section with a dash", []string{file}, []string{"SCORIA_LVM_1__VOLUME_GROUP=env-vg"}, func(t *testing.T, c *Config) {
			b := backend(t, c, "lvm-1")
			if got := b.String("volume_group", ""); got != "env-vg" {
				t.Errorf("volume_group = %q", got)
			}
			if b.File != file {
				t.Errorf("File = %q, want the file", b.File)
			}
		}},
		{"section in any case", []string{file}, []string{"SCORIA_lvm_1__Volume_Group=lower"}, func(t *testing.T, c *Config) {
			if got := backend(t, c, "lvm-1").String("volume_group", ""); got != "lower" {
				t.Errorf("volume_group = %q", got)
			}
		}},
		{"backends from the environment alone", nil, []string{"SCORIA_DEFAULT__ENABLED_BACKENDS=x-1", "SCORIA_X_1__VOLUME_DRIVER=localfile"}, func(t *testing.T, c *Config) {
			b := backend(t, c, "x-1")
			if b.VolumeDriver != "localfile" || b.File != "$SCORIA_X_1__VOLUME_DRIVER" {
				t.Errorf("x-1: driver %q, file %q", b.VolumeDriver, b.File)
			}
		}},
		{"not configuration", []string{file}, []string{"SCORIA_TEST_MYSQL_URL=mysql://x", "HOME=/root", "SCORIA=1", "SCORIA___X=1"}, func(t *testing.T, c *Config) {
			if len(c.Ignored) != 0 || c.Default.Host != "from-file" {
				t.Errorf("Ignored = %q, host %q", c.Ignored, c.Default.Host)
			}
		}},
		{"unknown option and section are ignored", []string{file}, []string{"SCORIA_NOVA__REGION_NAME=r1", "SCORIA_DEFAULT__ROOTWRAP_CONFIG=/x"}, func(t *testing.T, c *Config) {
			want := []string{"DEFAULT/rootwrap_config ($SCORIA_DEFAULT__ROOTWRAP_CONFIG)", "nova/region_name ($SCORIA_NOVA__REGION_NAME)"}
			if !slices.Equal(c.Ignored, want) {
				t.Errorf("Ignored = %q, want %q", c.Ignored, want)
			}
		}},
		{"feeds references", []string{file}, []string{"SCORIA_DEFAULT__STATE_PATH=/env", "SCORIA_LVM_1__LOCAL_VOLUME_DIR=$state_path/v"}, func(t *testing.T, c *Config) {
			if got := backend(t, c, "lvm-1").String("local_volume_dir", ""); got != "/env/v" {
				t.Errorf("local_volume_dir = %q", got)
			}
		}},
		{"last of a repeated variable wins", nil, []string{"SCORIA_DEFAULT__HOST=one", "SCORIA_DEFAULT__HOST=two"}, func(t *testing.T, c *Config) {
			if c.Default.Host != "two" {
				t.Errorf("Host = %q", c.Default.Host)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, tt.files, tt.env...))
		})
	}
}

func TestEnvironmentErrors(t *testing.T) {
	two := conf(t, "[lvm-1]\nx = 1\n[lvm_1]\nx = 2\n")
	tests := []struct {
		name  string
		files []string
		env   string
		want  string
	}{
		{"bad value names the variable", nil, "SCORIA_DEFAULT__REPORT_INTERVAL=-1",
			`$SCORIA_DEFAULT__REPORT_INTERVAL: [DEFAULT] report_interval: "-1" must be at least 1`},
		{"no option", nil, "SCORIA_DEFAULT__=1",
			"$SCORIA_DEFAULT__: names no option: write SCORIA_<SECTION>__<OPTION>"},
		{"two sections match", []string{two}, "SCORIA_LVM_1__X=3",
			"$SCORIA_LVM_1__X: matches sections [lvm-1] and [lvm_1]: rename one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.files, []string{tt.env})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant  %s", err, tt.want)
			}
			configErrors(t, err)
		})
	}
}

// TestDevstackCinderConf reads a cinder.conf as DevStack writes it: what Scoria implements is
// read, the rest is listed as ignored, nothing fails.
func TestDevstackCinderConf(t *testing.T) {
	p := filepath.Join("testdata", "devstack-cinder.conf")
	c := mustLoad(t, []string{p})
	d := c.Default
	if d.TransportURL != "rabbit://stackrabbit:secret@10.0.0.10:5672/" || d.AuthStrategy != "keystone" || !d.Debug ||
		d.StatePath != "/opt/stack/data/cinder" || d.DefaultVolumeType != "lvmdriver-1" || d.OsapiVolumeWorkers != 2 {
		t.Errorf("Default = %+v", d)
	}
	if c.Database.Connection != "mysql+pymysql://root:secret@127.0.0.1/cinder?charset=utf8" {
		t.Errorf("Connection = %q", c.Database.Connection)
	}
	b := backend(t, c, "lvmdriver-1")
	if b.VolumeDriver != "cinder.volume.drivers.lvm.LVMVolumeDriver" || b.VolumeBackendName != "lvmdriver-1" {
		t.Errorf("lvmdriver-1 = %+v", b)
	}
	if v, err := b.OneOf("volume_clear", "zero", "zero", "none", "shred"); v != "zero" || err != nil {
		t.Errorf("volume_clear = %q, %v", v, err)
	}
	if k := c.KeystoneAuthtoken; k.Username != "cinder" || k.Password != "secret" || k.ProjectName != "service" ||
		k.AuthURL != "http://10.0.0.10/identity" || k.AuthType != "password" || k.TokenCacheTime != 300*time.Second ||
		!slices.Equal(k.ServiceTokenRoles, []string{"service"}) {
		t.Errorf("KeystoneAuthtoken = %+v", k)
	}
	// my_ip is Scoria's too, and the iSCSI portal follows it, as target_ip_address = $my_ip
	// does in Cinder.
	if d.MyIP != "10.0.0.10" || b.TargetIPAddress != "10.0.0.10" {
		t.Errorf("my_ip %q, target_ip_address %q, want 10.0.0.10 for both", d.MyIP, b.TargetIPAddress)
	}
	// [key_manager] backend is read (Cinder's fixed-key manager is no key manager of Scoria's:
	// encrypted volumes are refused); fixed_key is ignored.
	if c.KeyManager.Backend != "cinder.keymgr.conf_key_mgr.ConfKeyManager" {
		t.Errorf("key_manager backend = %q", c.KeyManager.Backend)
	}
	// glance_api_servers is read (images), and a URL with a path is kept as written.
	if !slices.Equal(c.Images.GlanceAPIServers, []string{"http://10.0.0.10/image"}) {
		t.Errorf("glance_api_servers = %q", c.Images.GlanceAPIServers)
	}
	if len(c.Ignored) != 22 {
		t.Errorf("%d ignored options, want 22:\n%s", len(c.Ignored), strings.Join(c.Ignored, "\n"))
	}
	for _, want := range []string{"DEFAULT/rootwrap_config (" + p + ")", "keystone_authtoken/memcached_servers (" + p + ")", "coordination/backend_url (" + p + ")"} {
		if !slices.Contains(c.Ignored, want) {
			t.Errorf("Ignored lacks %q", want)
		}
	}
}

// TestResourceQueryFiltersFile: resource_query_filters_file is read at load, in Cinder's
// format; a file that cannot be read or is not filter lists by resource stops the load.
func TestResourceQueryFiltersFile(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "filters.json", `{"volume": ["name~", "status"], "snapshot": ["name"]}`)
	c := mustLoad(t, []string{conf(t, "[DEFAULT]\nresource_query_filters_file = "+good)})
	if got := c.Default.ResourceQueryFilters; len(got) != 2 || strings.Join(got["volume"], ",") != "name~,status" {
		t.Errorf("ResourceQueryFilters = %v", got)
	}
	if c := mustLoad(t, []string{conf(t, "[DEFAULT]\n")}); c.Default.ResourceQueryFilters != nil {
		t.Errorf("without the option: %v, want nil (Cinder's defaults)", c.Default.ResourceQueryFilters)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "none.json"), "read " + filepath.Join(dir, "none.json")},
		{"not JSON", writeFile(t, dir, "bad.json", `volume: name`), "is not a JSON object of filter lists by resource"},
		{"not lists", writeFile(t, dir, "flat.json", `{"volume": "name"}`), "is not a JSON object of filter lists by resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]string{conf(t, "[DEFAULT]\nresource_query_filters_file = "+tc.path)}, nil)
			if err == nil || !strings.Contains(err.Error(), "[DEFAULT] resource_query_filters_file: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want an error of resource_query_filters_file saying %q", err, tc.want)
			}
		})
	}
}
