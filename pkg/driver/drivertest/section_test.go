package drivertest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/drivertest"
)

// sectionDriver is memDriver registered with one option, for FromSection's test.
const sectionDriver = "drivertest-mem"

func init() {
	driver.Register(sectionDriver, func(o driver.Options) (driver.Driver, error) {
		if _, err := o.Int("mem_blocks"); err != nil {
			return nil, err
		}
		return &memDriver{}, nil
	}, driver.Option{Name: "mem_blocks", Type: driver.Int, Default: "1", Help: "unused"})
}

// fatalTB records the first Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestFromSection(t *testing.T) {
	for _, c := range []struct {
		name, volumeDriver string
		values             map[string]string
		fatal              string // "" when the driver is built
	}{
		{"declared options", sectionDriver, map[string]string{"mem_blocks": "4"}, ""},
		{"no options", sectionDriver, nil, ""},
		{"an option the driver does not declare", sectionDriver, map[string]string{"mem_blocks": "4", "mem_size": "1"},
			"section [mem] sets mem_size, which the driver does not understand"},
		{"an invalid value", sectionDriver, map[string]string{"mem_blocks": "many"}, `mem_blocks: "many" is not an integer`},
		{"an unknown driver", "no-such-driver", nil, `unknown driver "no-such-driver"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := &fatalTB{TB: t}
			var d driver.Driver
			done := make(chan struct{})
			go func() {
				defer close(done)
				d = drivertest.FromSection(tb, c.volumeDriver, driver.Section{Name: "mem", Values: c.values})
			}()
			<-done
			switch {
			case c.fatal == "" && (tb.fatal != "" || d == nil):
				t.Fatalf("FromSection failed: %s", tb.fatal)
			case c.fatal != "" && !strings.Contains(tb.fatal, c.fatal):
				t.Fatalf("FromSection's failure = %q, want one that says %q", tb.fatal, c.fatal)
			}
		})
	}
}
