// Package backend turns a backend section of the configuration into a storage driver through
// the driver registry of pkg/driver. It links Scoria's drivers in (localfile, lvm, nfs, rbd: each
// registers itself with its Cinder class-path aliases and options) and knows the drivers this
// release names but does not provide yet.
package backend

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/pkg/driver"

	// Scoria's drivers, which register themselves.
	_ "github.com/scoria/scoria/internal/backend/localfile"
	_ "github.com/scoria/scoria/internal/backend/lvm"
	_ "github.com/scoria/scoria/internal/backend/nfs"
	_ "github.com/scoria/scoria/internal/backend/rbd"
)

// planned are drivers Scoria names but this release does not provide yet, by the
// volume_driver values that select them.
var planned = map[string]string{
	"sheepdog": "the Sheepdog driver",
	"cinder.volume.drivers.sheepdog.SheepdogDriver": "the Sheepdog driver",
}

// Resolve returns the registered driver name a volume_driver value selects.
func Resolve(volumeDriver string) (string, bool) {
	r, ok := driver.Lookup(volumeDriver)
	return r.Name, ok
}

// New builds the driver of backend section b; statePath is [DEFAULT] state_path. Errors name
// the file, section and key (a *config.Error).
func New(b *config.Backend, statePath string) (driver.Driver, error) {
	b.Use("volume_driver")
	value := strings.TrimSpace(b.VolumeDriver)
	r, ok := driver.Lookup(value)
	if !ok {
		reason := fmt.Sprintf("unknown driver %q (known: %s)", b.VolumeDriver, strings.Join(known(), ", "))
		switch {
		case b.VolumeDriver == "":
			reason = "volume_driver is required"
		case planned[value] != "":
			reason = fmt.Sprintf("%s (%s) is not part of this Scoria release yet", planned[value], b.VolumeDriver)
		}
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_driver", Reason: reason}
	}
	return r.New(b.Section(statePath)) // a *driver.ConfigError is a *config.Error
}

// known lists every volume_driver value Scoria knows, sorted: registered names and aliases,
// and the planned drivers'.
func known() []string {
	var out []string
	for _, r := range driver.Registered() {
		out = append(out, r.Name)
		out = append(out, r.Aliases...)
	}
	for v := range planned {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
