package scheduler

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// TestRecordPoolsOperations: the supported operations a report lists (backend-level, as the
// volume service sends them, or a pool's own) reach the pools table through UpsertPool; a
// report that does not say, or says it in a shape that is not a list of strings, leaves
// them unknown.
func TestRecordPoolsOperations(t *testing.T) {
	all := []any{resource.OpSnapshot, resource.OpCreateFromSnapshot, resource.OpClone, resource.OpExtend, resource.OpRevert}
	tests := []struct {
		name      string
		backend   map[string]any // the report's Stats.Extra
		pool      map[string]any // the pool's Extra
		wantOps   []string
		wantKnown bool
	}{
		{name: "all five", backend: map[string]any{resource.CapSupportedOperations: all},
			wantOps: []string{"snapshot", "create_from_snapshot", "clone", "extend", "revert"}, wantKnown: true},
		{name: "none", backend: map[string]any{resource.CapSupportedOperations: []any{}}, wantOps: []string{}, wantKnown: true},
		{name: "pool overrides backend", backend: map[string]any{resource.CapSupportedOperations: all},
			pool: map[string]any{resource.CapSupportedOperations: []any{resource.OpExtend}}, wantOps: []string{"extend"}, wantKnown: true},
		{name: "not said", backend: map[string]any{"other": 1}, wantKnown: false},
		{name: "not a list", backend: map[string]any{resource.CapSupportedOperations: "snapshot"}, wantKnown: false},
		{name: "not strings", backend: map[string]any{resource.CapSupportedOperations: []any{"snapshot", 3}}, wantKnown: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newTestStore(t)
			s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Minute}
			p := pool("p", 100, 50, 0, false, "")
			p.Extra = tc.pool
			rep := report("a@f", "nova", p)
			rep.Stats.Extra = tc.backend
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Handle(context.Background(), &rpc.Message{Method: rpcapi.UpdateCapabilities, Args: b}); err != nil {
				t.Fatal(err)
			}
			ops, known, err := st.PoolOperations(context.Background(), "a@f#p")
			if err != nil {
				t.Fatal(err)
			}
			if known != tc.wantKnown || !slices.Equal(ops, tc.wantOps) {
				t.Errorf("recorded operations = %v (known %v), want %v (known %v)", ops, known, tc.wantOps, tc.wantKnown)
			}
		})
	}
}

// TestOperationsOfTypedList: a report handed over in process (not decoded from JSON) carries
// a []string.
func TestOperationsOfTypedList(t *testing.T) {
	pools := newPools(rpcapi.CapabilitiesArgs{Host: "a@f", Stats: driver.Stats{
		Extra: map[string]any{resource.CapSupportedOperations: []string{resource.OpClone}},
		Pools: []driver.Pool{pool("p", 100, 50, 0, false, "")}}})
	if got := pools[0].capacity().Operations; !slices.Equal(got, []string{resource.OpClone}) {
		t.Errorf("operations = %v, want [clone]", got)
	}
}
