package driver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// acme is a third party's driver: this file imports nothing of Scoria but pkg/driver.
type acme struct {
	array   string
	pool    string
	timeout time.Duration
	thin    bool
	backend string
}

func (*acme) Setup(context.Context) error                                { return nil }
func (*acme) Create(context.Context, driver.Volume) (driver.Data, error) { return driver.Data{}, nil }
func (*acme) Delete(context.Context, driver.Volume) error                { return nil }
func (*acme) Exists(context.Context, driver.Volume) (bool, error)        { return false, nil }
func (*acme) Stats(context.Context) (driver.Stats, error)                { return driver.Stats{}, nil }

func init() {
	driver.Register("acme", newAcme,
		driver.Option{Name: "acme_array", Type: driver.NonEmpty, Help: "Address of the array"},
		driver.Option{Name: "acme_pool", Type: driver.String, Default: "gold", Help: "Pool on the array"},
		driver.Option{Name: "acme_timeout", Type: driver.Seconds, Min: 1, Default: "10", Help: "Seconds a call may take"},
		driver.Option{Name: "acme_provisioning", Type: driver.Choice, Choices: []string{"thin", "thick"}, Default: "thin", Help: "Provisioning"},
	)
	driver.RegisterAlias("cinder.volume.drivers.acme.AcmeISCSIDriver", "acme")
}

func newAcme(o driver.Options) (driver.Driver, error) {
	d := &acme{backend: o.BackendName()}
	var err error
	if d.array, err = o.String("acme_array"); err != nil {
		return nil, err
	}
	if d.pool, err = o.String("acme_pool"); err != nil {
		return nil, err
	}
	if d.timeout, err = o.Seconds("acme_timeout"); err != nil {
		return nil, err
	}
	prov, err := o.String("acme_provisioning")
	if err != nil {
		return nil, err
	}
	d.thin = prov == "thin"
	if strings.HasPrefix(d.array, "http:") {
		return nil, o.Invalid("acme_array", "must not be plain http")
	}
	return d, nil
}

// parseSection reads one section of a cinder.conf as a host would, enough for this test.
func parseSection(file, text string) (string, driver.Section) {
	s := driver.Section{File: file, Values: map[string]string{}}
	var volumeDriver string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			s.Name = strings.Trim(line, "[]")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
			if k == "volume_driver" {
				volumeDriver = v
				continue
			}
			s.Values[k] = v
		}
	}
	return volumeDriver, s
}

func TestExternalDriver(t *testing.T) {
	tests := []struct {
		name, conf string
		want       acme
		err        string
	}{
		{"defaults", "[acme-1]\nvolume_driver = acme\nacme_array = 10.0.0.9\n",
			acme{array: "10.0.0.9", pool: "gold", timeout: 10 * time.Second, thin: true, backend: "acme-1"}, ""},
		{"class path and values", "[acme-2]\nvolume_driver = cinder.volume.drivers.acme.AcmeISCSIDriver\nACME_ARRAY = a.example\n" +
			"acme_pool = silver\nacme_timeout = 3\nacme_provisioning = thick\n",
			acme{array: "a.example", pool: "silver", timeout: 3 * time.Second, backend: "acme-2"}, ""},
		{"required option", "[acme-3]\nvolume_driver = acme\n", acme{}, "/etc/cinder/cinder.conf: [acme-3] acme_array: must not be empty"},
		{"declared check", "[acme-4]\nvolume_driver = acme\nacme_array = x\nacme_timeout = 0\n", acme{},
			`/etc/cinder/cinder.conf: [acme-4] acme_timeout: "0" must be at least 1`},
		{"choice", "[acme-5]\nvolume_driver = acme\nacme_array = x\nacme_provisioning = fat\n", acme{},
			`/etc/cinder/cinder.conf: [acme-5] acme_provisioning: "fat" is not one of thin, thick`},
		{"factory's own check", "[acme-6]\nvolume_driver = acme\nacme_array = http://x\n", acme{},
			"/etc/cinder/cinder.conf: [acme-6] acme_array: must not be plain http"},
		{"unknown driver", "[x]\nvolume_driver = cinder.volume.drivers.acme.Other\n", acme{},
			`/etc/cinder/cinder.conf: [x] volume_driver: unknown driver "cinder.volume.drivers.acme.Other"`},
		{"no driver", "[x]\n", acme{}, "/etc/cinder/cinder.conf: [x] volume_driver: volume_driver is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, s := parseSection("/etc/cinder/cinder.conf", tt.conf)
			d, err := driver.New(value, s)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || !errors.Is(err, driver.ErrInvalidConfig) {
					t.Fatalf("error %v\nwant  %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := *d.(*acme); got != tt.want {
				t.Errorf("built %+v, want %+v", got, tt.want)
			}
		})
	}
	r, ok := driver.Lookup("cinder.volume.drivers.acme.AcmeISCSIDriver")
	if !ok || r.Name != "acme" || len(r.Options) != 4 || r.Options[2].Describe() != "seconds, at least 1" {
		t.Errorf("Lookup = %+v, %v", r, ok)
	}
	found := false
	for _, r := range driver.Registered() {
		found = found || r.Name == "acme"
	}
	if !found {
		t.Error("Registered lacks acme")
	}
}
