package volume

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// TestReportCarriesSupportedOperations: the capability report a scheduler receives lists the
// optional operations the backend's driver implements, found by type assertion.
func TestReportCarriesSupportedOperations(t *testing.T) {
	all := []string{resource.OpSnapshot, resource.OpCreateFromSnapshot, resource.OpClone, resource.OpExtend, resource.OpRevert}
	tests := []struct {
		name string
		drv  func(f *fixture) driver.Driver
		want []string
	}{
		{name: "local-file driver", drv: func(f *fixture) driver.Driver { return f.drv }, want: all},
		{name: "local-file driver with its optional interfaces hidden", drv: func(f *fixture) driver.Driver { return bareDriver{f.drv} }, want: []string{}},
		{name: "only extend", drv: func(f *fixture) driver.Driver { return extendOnlyDriver{bareDriver{f.drv}, f.drv} }, want: []string{resource.OpExtend}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.m.Driver = tc.drv(f)
			report := f.nextReport()
			raw, ok := report.Stats.Extra[resource.CapSupportedOperations]
			if !ok {
				t.Fatalf("report has no %s: %v", resource.CapSupportedOperations, report.Stats.Extra)
			}
			list, ok := raw.([]any)
			if !ok {
				t.Fatalf("%s = %#v, want a list", resource.CapSupportedOperations, raw)
			}
			got := []string{}
			for _, o := range list {
				got = append(got, o.(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("supported operations = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReportKeepsDriverExtra: the operations are added beside the driver's own custom
// capabilities, and a driver cannot claim operations it does not implement.
func TestReportKeepsDriverExtra(t *testing.T) {
	f := newFixture(t)
	d := &extraDriver{Driver: bareDriver{f.drv}, extra: map[string]any{"custom": "x", resource.CapSupportedOperations: []string{resource.OpClone}}}
	f.m.Driver = d
	report := f.nextReport()
	if report.Stats.Extra["custom"] != "x" {
		t.Errorf("custom capability lost: %v", report.Stats.Extra)
	}
	if got := report.Stats.Extra[resource.CapSupportedOperations]; len(got.([]any)) != 0 {
		t.Errorf("supported operations = %v, want none (the driver implements none)", got)
	}
	if got := d.extra[resource.CapSupportedOperations].([]string); !slices.Equal(got, []string{resource.OpClone}) {
		t.Errorf("the driver's own map was changed: %v", got)
	}
}

// extendOnlyDriver is the local-file driver with only Extender of its optional interfaces.
type extendOnlyDriver struct {
	bareDriver
	ext driver.Extender
}

func (d extendOnlyDriver) ExtendVolume(ctx context.Context, v driver.Volume, size int) error {
	return d.ext.ExtendVolume(ctx, v, size)
}

// extraDriver is a driver whose report carries the given custom capabilities.
type extraDriver struct {
	driver.Driver
	extra map[string]any
}

func (d *extraDriver) Stats(ctx context.Context) (driver.Stats, error) {
	st, err := d.Driver.Stats(ctx)
	st.Extra = d.extra
	return st, err
}

// nextReport listens on the schedulers' fanout and has the manager report until a report
// arrives (a fanout reaches only servers already listening), as a scheduler receives it.
func (f *fixture) nextReport() rpcapi.CapabilitiesArgs {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := f.listen(ctx)
	deadline := time.After(10 * time.Second)
	for {
		f.m.report(ctx)
		select {
		case r := <-got:
			return r
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			f.t.Fatal("no capability report reached the scheduler topic in 10s")
		}
	}
}

// listen serves the scheduler topic until ctx ends and passes on the capability reports
// that reach it.
func (f *fixture) listen(ctx context.Context) <-chan rpcapi.CapabilitiesArgs {
	got := make(chan rpcapi.CapabilitiesArgs, 16)
	go func() {
		_ = f.bus.Serve(ctx, rpc.Target{Topic: rpc.TopicScheduler, Server: "test-scheduler"}, func(_ context.Context, msg *rpc.Message) (any, error) {
			if msg.Method == rpcapi.UpdateCapabilities {
				var args rpcapi.CapabilitiesArgs
				if err := json.Unmarshal(msg.Args, &args); err != nil {
					f.t.Errorf("undecodable report: %v", err)
				}
				select {
				case got <- args:
				default: // nobody reads any more
				}
			}
			return nil, nil
		})
	}()
	return got
}
