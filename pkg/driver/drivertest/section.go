package drivertest

import (
	"sort"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// FromSection builds the driver that volumeDriver selects from backend section s through the
// registry (driver.New), as a host builds it from cinder.conf, so that a suite run on it also
// proves the driver's registration and options. It fails t when New fails, or when s sets a
// key the driver does not understand: such a key would only be logged as ignored, and the
// suite would run on a driver other than the one the section describes.
func FromSection(t testing.TB, volumeDriver string, s driver.Section) driver.Driver {
	t.Helper()
	understood := map[string]bool{}
	use := s.Use
	s.Use = func(keys ...string) {
		for _, k := range keys {
			understood[k] = true
		}
		if use != nil {
			use(keys...)
		}
	}
	d, err := driver.New(volumeDriver, s)
	if err != nil {
		t.Fatalf("volume_driver = %s with section [%s] %v: %v", volumeDriver, s.Name, s.Values, err)
	}
	var ignored []string
	for k := range s.Values {
		if !understood[k] {
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		sort.Strings(ignored)
		t.Fatalf("volume_driver = %s: section [%s] sets %s, which the driver does not understand", volumeDriver, s.Name, strings.Join(ignored, ", "))
	}
	return d
}
