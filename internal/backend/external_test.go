package backend_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scoria/scoria/internal/backend"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/pkg/driver"
)

// acme is a driver from outside Scoria, known to it only through pkg/driver's registry.
type acme struct {
	array string
	ports []string
	dir   string
}

func (*acme) Setup(context.Context) error                                { return nil }
func (*acme) Create(context.Context, driver.Volume) (driver.Data, error) { return driver.Data{}, nil }
func (*acme) Delete(context.Context, driver.Volume) error                { return nil }
func (*acme) Exists(context.Context, driver.Volume) (bool, error)        { return false, nil }
func (*acme) Stats(context.Context) (driver.Stats, error)                { return driver.Stats{}, nil }

func init() {
	driver.Register("acme", func(o driver.Options) (driver.Driver, error) {
		array, err := o.String("acme_array")
		if err != nil {
			return nil, err
		}
		ports, err := o.List("acme_ports")
		if err != nil {
			return nil, err
		}
		return &acme{array: array, ports: ports, dir: o.StatePath()}, nil
	},
		driver.Option{Name: "acme_array", Type: driver.NonEmpty, Help: "Address of the array"},
		driver.Option{Name: "acme_ports", Type: driver.List, Default: "p1", Help: "Target ports"},
	)
	driver.RegisterAlias("cinder.volume.drivers.acme.AcmeDriver", "acme")
}

// TestExternalDriverFromCinderConf: a driver registered from another package is built from a
// cinder.conf section, its keys are understood and others are reported, and a bad value
// stops the start as any configuration error does.
func TestExternalDriverFromCinderConf(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cinder.conf")
	text := "[DEFAULT]\nenabled_backends = acme-1, acme-2\nstate_path = " + dir + "\n" +
		"[acme-1]\nvolume_driver = cinder.volume.drivers.acme.AcmeDriver\nacme_array = $my_ip\nacme_ports = a, b\nacme_colour = red\n" +
		"[acme-2]\nvolume_driver = acme\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load([]string{file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := backend.New(c.Backends[0], c.Default.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.(*acme); a.array != c.Default.MyIP || !slices.Equal(a.ports, []string{"a", "b"}) || a.dir != dir {
		t.Errorf("built %+v", a)
	}
	if got := c.Backends[0].UnusedKeys(); !slices.Equal(got, []string{"acme_colour"}) {
		t.Errorf("UnusedKeys = %q", got)
	}
	_, err = backend.New(c.Backends[1], c.Default.StatePath)
	if want := file + ": [acme-2] acme_array: must not be empty"; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	if _, ok := err.(*config.Error); !ok {
		t.Errorf("%T is not a *config.Error", err)
	}
}
