package driver

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Factory builds a driver from its backend section. It reads its options through o, whose
// getters have already checked every declared option the section sets; it returns an error
// (from o's getters or o.Invalid) when the options do not make a usable driver. It must not
// touch the storage: Driver.Setup does that.
type Factory func(o Options) (Driver, error)

// Registration is a registered driver: its name, the other volume_driver values that name it,
// its declared options, and how to build it.
type Registration struct {
	Name    string   // Scoria's name, e.g. "lvm"
	Aliases []string // other volume_driver values, sorted: Cinder class paths, short forms
	Options []Option // in declaration order
	Factory Factory  // nil when Unavailable
	// Unavailable, when not "", is why this binary cannot build the driver (say, it was
	// compiled without the libraries it needs): New reports it as the section's error.
	Unavailable string
}

// New builds the driver from backend section s: every declared option that s sets is checked
// first (the first invalid one, in declaration order, is the error), then the factory runs.
func (r Registration) New(s Section) (Driver, error) {
	if r.Factory == nil {
		return nil, s.invalid("volume_driver", r.Unavailable)
	}
	o := newOptions(&s, r.Options)
	if err := o.check(r.Options); err != nil {
		return nil, err
	}
	d, err := r.Factory(o)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("driver %s: the factory returned no driver and no error", r.Name)
	}
	return d, nil
}

// registry holds the registered drivers; the package's functions use one of them.
type registry struct {
	mu      sync.RWMutex
	drivers map[string]*Registration
	aliases map[string]string // alias → name
}

func newRegistry() *registry {
	return &registry{drivers: map[string]*Registration{}, aliases: map[string]string{}}
}

var drivers = newRegistry()

// Register makes a driver available under name, the value of volume_driver that selects it,
// with its options. It is meant to be called from the init function of the driver's package;
// like database/sql's Register, it panics when name (or an alias) is taken, when f is nil, or
// when an option's declaration is invalid or repeated.
func Register(name string, f Factory, opts ...Option) {
	if f == nil {
		panic("driver: Register " + name + ": nil factory")
	}
	drivers.register(Registration{Name: name, Factory: f, Options: opts})
}

// RegisterUnavailable declares a driver this binary knows but cannot build, and why: a section
// that selects it fails with reason. Its options are declared as Register's are, so that the
// sample configuration shows them in every build. It panics as Register does.
func RegisterUnavailable(name, reason string, opts ...Option) {
	if reason == "" {
		panic("driver: RegisterUnavailable " + name + ": no reason")
	}
	drivers.register(Registration{Name: name, Unavailable: reason, Options: opts})
}

// RegisterAlias makes alias, such as a Cinder driver class path
// ("cinder.volume.drivers.lvm.LVMVolumeDriver"), select driver name, registered before or
// after. It panics when alias is already a name or an alias.
func RegisterAlias(alias, name string) { drivers.alias(alias, name) }

// Lookup returns the registration that a volume_driver value selects: a driver's name or one
// of its aliases (surrounding blanks ignored).
func Lookup(volumeDriver string) (Registration, bool) { return drivers.lookup(volumeDriver) }

// Registered returns every registered driver, sorted by name.
func Registered() []Registration { return drivers.registered() }

// New builds the driver that section s's volume_driver value selects. A value that selects
// no registered driver is a *ConfigError naming volume_driver.
func New(volumeDriver string, s Section) (Driver, error) {
	r, ok := Lookup(volumeDriver)
	if !ok {
		reason := fmt.Sprintf("unknown driver %q", volumeDriver)
		if strings.TrimSpace(volumeDriver) == "" {
			reason = "volume_driver is required"
		}
		return nil, s.invalid("volume_driver", reason)
	}
	return r.New(s)
}

func (g *registry) register(r Registration) {
	if r.Name == "" || strings.TrimSpace(r.Name) != r.Name {
		panic(fmt.Sprintf("driver: Register %q: not a name", r.Name))
	}
	seen := map[string]bool{}
	for _, o := range r.Options {
		if err := o.validate(); err != nil {
			panic("driver: Register " + r.Name + ": " + err.Error())
		}
		if seen[o.Name] {
			panic("driver: Register " + r.Name + ": option " + o.Name + " declared twice")
		}
		seen[o.Name] = true
	}
	r.Options = slices.Clone(r.Options)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.taken(r.Name) {
		panic("driver: Register called twice for driver " + r.Name)
	}
	g.drivers[r.Name] = &r
}

func (g *registry) alias(alias, name string) {
	if alias == "" || strings.TrimSpace(alias) != alias {
		panic(fmt.Sprintf("driver: RegisterAlias %q: not a name", alias))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.taken(alias) {
		panic("driver: RegisterAlias called twice for " + alias)
	}
	g.aliases[alias] = name
}

// taken reports whether s is a name or an alias; g.mu is held.
func (g *registry) taken(s string) bool {
	_, name := g.drivers[s]
	_, alias := g.aliases[s]
	return name || alias
}

func (g *registry) lookup(value string) (Registration, bool) {
	value = strings.TrimSpace(value)
	g.mu.RLock()
	defer g.mu.RUnlock()
	if name, ok := g.aliases[value]; ok {
		value = name
	}
	r, ok := g.drivers[value]
	if !ok {
		return Registration{}, false
	}
	return g.copy(r), true
}

func (g *registry) registered() []Registration {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Registration, 0, len(g.drivers))
	for _, r := range g.drivers {
		out = append(out, g.copy(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// copy returns r with its aliases and a copy of its options; g.mu is held.
func (g *registry) copy(r *Registration) Registration {
	c := *r
	c.Options = slices.Clone(r.Options)
	c.Aliases = nil
	for alias, name := range g.aliases {
		if name == r.Name {
			c.Aliases = append(c.Aliases, alias)
		}
	}
	sort.Strings(c.Aliases)
	return c
}
