// Package backend turns a backend section of the configuration into a storage driver through
// the driver registry of pkg/driver. It links Scoria's drivers in (localfile, lvm, nfs, rbd,
// sheepdog: each registers itself with its Cinder class-path aliases and options).
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
	_ "github.com/scoria/scoria/internal/backend/sheepdog"
)

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
		if b.VolumeDriver == "" {
			reason = "volume_driver is required"
		}
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_driver", Reason: reason}
	}
	return r.New(b.Section(statePath)) // a *driver.ConfigError is a *config.Error
}

// known lists every volume_driver value Scoria knows, sorted: registered names and aliases.
func known() []string {
	var out []string
	for _, r := range driver.Registered() {
		out = append(out, r.Name)
		out = append(out, r.Aliases...)
	}
	sort.Strings(out)
	return out
}
