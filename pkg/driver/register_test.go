package driver

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// nopDriver is a Driver that does nothing.
type nopDriver struct{ o Options }

func (nopDriver) Setup(context.Context) error                  { return nil }
func (nopDriver) Create(context.Context, Volume) (Data, error) { return Data{}, nil }
func (nopDriver) Delete(context.Context, Volume) error         { return nil }
func (nopDriver) Exists(context.Context, Volume) (bool, error) { return false, nil }
func (nopDriver) Stats(context.Context) (Stats, error)         { return Stats{}, nil }

func nopFactory(o Options) (Driver, error) { return nopDriver{o}, nil }

// panics returns the value f panics with, "" when it does not.
func panics(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "panic"
			}
		}
	}()
	f()
	return ""
}

func TestRegistryLookup(t *testing.T) {
	g := newRegistry()
	g.register(Registration{Name: "lvm", Factory: nopFactory, Options: []Option{{Name: "volume_group", Type: NonEmpty, Default: "cinder-volumes"}}})
	g.alias("cinder.volume.drivers.lvm.LVMVolumeDriver", "lvm")
	g.alias("cinder.volume.drivers.lvm.LVMISCSIDriver", "lvm")
	g.alias("acme.Driver", "acme") // before its driver
	g.register(Registration{Name: "acme", Unavailable: "not in this binary"})
	g.alias("dangling", "nothing")

	tests := []struct {
		value, want string // want "" for not found
	}{
		{"lvm", "lvm"},
		{"  lvm\t", "lvm"},
		{"cinder.volume.drivers.lvm.LVMVolumeDriver", "lvm"},
		{"cinder.volume.drivers.lvm.LVMISCSIDriver", "lvm"},
		{"acme.Driver", "acme"},
		{"acme", "acme"},
		{"LVM", ""},
		{"", ""},
		{"dangling", ""},
		{"nfs", ""},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			r, ok := g.lookup(tt.value)
			if ok != (tt.want != "") || r.Name != tt.want {
				t.Errorf("lookup(%q) = %q, %v; want %q", tt.value, r.Name, ok, tt.want)
			}
		})
	}
	r, _ := g.lookup("lvm")
	if want := []string{"cinder.volume.drivers.lvm.LVMISCSIDriver", "cinder.volume.drivers.lvm.LVMVolumeDriver"}; !slices.Equal(r.Aliases, want) {
		t.Errorf("aliases = %q, want %q", r.Aliases, want)
	}
	r.Options[0].Default = "changed" // a copy
	if r, _ := g.lookup("lvm"); r.Options[0].Default != "cinder-volumes" {
		t.Error("Lookup's registration shares its options with the registry")
	}
	var names []string
	for _, r := range g.registered() {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"acme", "lvm"}) {
		t.Errorf("registered = %q, want sorted names", names)
	}
}

func TestRegistryPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(g *registry)
		want string // part of the panic
	}{
		{"name twice", func(g *registry) { g.register(Registration{Name: "lvm", Factory: nopFactory}) }, "Register called twice for driver lvm"},
		{"name taken by an alias", func(g *registry) { g.register(Registration{Name: "file", Factory: nopFactory}) }, "Register called twice for driver file"},
		{"alias twice", func(g *registry) { g.alias("file", "other") }, "RegisterAlias called twice for file"},
		{"alias of a name", func(g *registry) { g.alias("lvm", "lvm") }, "RegisterAlias called twice for lvm"},
		{"empty name", func(g *registry) { g.register(Registration{Name: "", Factory: nopFactory}) }, "not a name"},
		{"blank alias", func(g *registry) { g.alias(" x", "lvm") }, "not a name"},
		{"option twice", func(g *registry) {
			g.register(Registration{Name: "x", Factory: nopFactory, Options: []Option{{Name: "a", Type: String}, {Name: "a", Type: Int}}})
		}, "option a declared twice"},
		{"unknown type", func(g *registry) {
			g.register(Registration{Name: "x", Factory: nopFactory, Options: []Option{{Name: "a", Type: "duration"}}})
		}, "no type Scoria knows"},
		{"choice without choices", func(g *registry) {
			g.register(Registration{Name: "x", Factory: nopFactory, Options: []Option{{Name: "a", Type: Choice, Default: "b"}}})
		}, "a choice without choices"},
		{"bad default", func(g *registry) {
			g.register(Registration{Name: "x", Factory: nopFactory, Options: []Option{{Name: "a", Type: Int, Min: 1, Default: "0"}}})
		}, `option a: default: "0" must be at least 1`},
		{"upper-case option", func(g *registry) {
			g.register(Registration{Name: "x", Factory: nopFactory, Options: []Option{{Name: "Volume_Group", Type: String}}})
		}, "must be a lower-case key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRegistry()
			g.register(Registration{Name: "lvm", Factory: nopFactory})
			g.alias("file", "localfile")
			if got := panics(func() { tt.f(g) }); !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want one with %q", got, tt.want)
			}
		})
	}
	// The package's functions refuse what the registry cannot build.
	if got := panics(func() { Register("nil-factory", nil) }); !strings.Contains(got, "nil factory") {
		t.Errorf("Register(nil factory): panic %q", got)
	}
	if got := panics(func() { RegisterUnavailable("no-reason", "") }); !strings.Contains(got, "no reason") {
		t.Errorf("RegisterUnavailable without a reason: panic %q", got)
	}
}
