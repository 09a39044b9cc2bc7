package config

import (
	"testing"
)

func TestInterpolation(t *testing.T) {
	tests := []struct {
		name     string
		defaults string // lines of [DEFAULT]
		body     string // lines of the backend section [b]
		want     string // the value of x in [b]
	}{
		{"default state_path", "", "x = $state_path/volumes", "/var/lib/scoria/volumes"},
		{"state_path set", "state_path = /srv", "x = $state_path/volumes", "/srv/volumes"},
		{"braces", "state_path = /srv", "x = ${state_path}v", "/srvv"},
		{"braces before a dot", "state_path = /srv", "x = ${state_path}.bak", "/srv.bak"},
		{"host set", "host = node-1", "x = $host:3260", "node-1:3260"},
		{"escaped dollar", "", "x = pa$$word", "pa$word"},
		{"lone dollar", "", "x = a$", "a$"},
		{"dollar before a digit", "", "x = $1 and $ 2", "$1 and $ 2"},
		{"unclosed brace", "", "x = ${state_path", "${state_path"},
		{"braces around a non-name", "", "x = ${1a} ${} ${a-b}", "${1a} ${} ${a-b}"},
		{"option Scoria ignores", "my_ip = 10.0.0.5", "x = $my_ip", "10.0.0.5"},
		{"same section first", "y = from-default", "y = from-b\nx = $y", "from-b"},
		{"then DEFAULT", "y = from-default", "x = $y", "from-default"},
		{"named section", "", "x = ${database.connection}", "sqlite:///db"},
		{"named DEFAULT", "host = h1", "host = h2\nx = ${DEFAULT.host}", "h1"},
		{"nested", "base = /b\nstate_path = $base/state", "x = $state_path/v", "/b/state/v"},
		{"backend default", "", "x = $volume_backend_name", "b"},
		{"case of the name", "state_path = /srv", "x = $State_Path", "/srv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := conf(t, "[DEFAULT]\nenabled_backends = b\n"+tt.defaults+"\n[database]\nconnection = sqlite:///db\n[b]\nvolume_driver = localfile\n"+tt.body+"\n")
			c := mustLoad(t, []string{p})
			if got := backend(t, c, "b").String("x", "<unset>"); got != tt.want {
				t.Errorf("x = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInterpolationOfDefaults(t *testing.T) {
	c := mustLoad(t, []string{conf(t, "[DEFAULT]\nstorage_availability_zone = az1\nenabled_backends = b\n[b]\nvolume_driver = x\n")})
	if c.Default.DefaultAvailabilityZone != "az1" {
		t.Errorf("default_availability_zone = %q, want storage_availability_zone", c.Default.DefaultAvailabilityZone)
	}
	if b := backend(t, c, "b"); b.BackendAvailabilityZone != "az1" {
		t.Errorf("backend_availability_zone = %q, want storage_availability_zone", b.BackendAvailabilityZone)
	}
	c = mustLoad(t, []string{conf(t, "[DEFAULT]\nhost = n1\nstate_path = /s\n[database]\nconnection = sqlite:///$state_path/${host}.db\n")})
	if c.Database.Connection != "sqlite:////s/n1.db" {
		t.Errorf("connection = %q", c.Database.Connection)
	}
}

func TestInterpolationErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown in a backend", withBackend("x = $nope/x"),
			`{file}: [b] x: "$nope/x" refers to $nope, which is not set in [b] or [DEFAULT] (write $$ for a literal $)`},
		{"unknown in a named section", withBackend("x = ${nova.region}"),
			`{file}: [b] x: "${nova.region}" refers to $nova.region, which is not set in [nova] or [DEFAULT] (write $$ for a literal $)`},
		{"a dot ends no name, as in oslo", withBackend("x = $state_path.bak"),
			`{file}: [b] x: "$state_path.bak" refers to $state_path.bak, which is not set in [state_path] or [DEFAULT] (write $$ for a literal $)`},
		{"unknown behind another", "[DEFAULT]\nbase = $nope\n" + withBackend("x = $base"),
			`{file}: [b] x: "$base" refers to $nope (through $base), which is not set in [DEFAULT] (write $$ for a literal $)`},
		{"loop", "[DEFAULT]\na = $c\nc = $a\n" + withBackend("x = $a"),
			`{file}: [b] x: "$a" leads to a loop: $a → $c → $a`},
		{"self", "[DEFAULT]\nhost = x$host", `{file}: [DEFAULT] host: "x$host" leads to a loop: $host → $host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := conf(t, tt.content+"\n")
			_, err := Load([]string{p}, nil)
			if want := fill(tt.want, p); err == nil || err.Error() != want {
				t.Errorf("error\n got %v\nwant %s", err, want)
			}
		})
	}
}

func TestPlaceholder(t *testing.T) {
	tests := []struct {
		in   string
		name string
		n    int
	}{
		{"$a", "a", 2},
		{"$a_b.c9/x", "a_b.c9", 7},
		{"${a.b}c", "a.b", 6},
		{"$$x", "", 2},
		{"$", "", 0},
		{"$9", "", 0},
		{"${", "", 0},
		{"${9}", "", 0},
		{"${}", "", 0},
		{"${a b}", "", 0},
	}
	for _, tt := range tests {
		if name, n := placeholder(tt.in); name != tt.name || n != tt.n {
			t.Errorf("placeholder(%q) = %q, %d; want %q, %d", tt.in, name, n, tt.name, tt.n)
		}
	}
}
