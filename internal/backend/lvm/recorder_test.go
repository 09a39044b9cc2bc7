package lvm

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// recorder is a RECORDING COMMAND RUNNER standing in for exec, for what cannot run on this
// kernel (no device-mapper): thin pools, snapshots, and dd on active logical volumes. It
// records every command line and keeps just enough of a volume group (names, sizes, pools)
// to answer lvs/vgs in lvm's JSON, so a test checks the exact commands the driver issues.
// It does not stand for lvm's behaviour: what lvm2 can do here runs for real (real_test.go).
type recorder struct {
	mu     sync.Mutex
	vg     string
	lvs    map[string]lvReport
	calls  []string
	envs   [][]string
	failOn string // a command line prefix that fails
}

func newRecorder(vg string) *recorder { return &recorder{vg: vg, lvs: map[string]lvReport{}} }

// add puts a logical volume of gib GiB in the group (pool: the thin pool it is in).
func (r *recorder) add(name string, gib int, pool string) {
	attr := "-wi-a-----"
	if pool != "" {
		attr = "Vwi-a-tz--"
	}
	if name == r.vg+"-pool" {
		attr, pool = "twi-a-tz--", ""
	}
	r.lvs[name] = lvReport{Name: name, Size: fmt.Sprint(int64(gib) << 30), Attr: attr, Pool: pool, DataPercent: "25.00"}
}

func (r *recorder) Run(_ context.Context, env []string, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := strings.Join(append([]string{name}, args...), " ")
	r.envs = append(r.envs, env)
	if r.failOn != "" && strings.HasPrefix(line, r.failOn) {
		r.calls = append(r.calls, line)
		return nil, &CommandError{Command: append([]string{name}, args...), Stderr: "injected failure", Err: fmt.Errorf("exit status 5")}
	}
	if name != "lvm" || len(args) == 0 {
		r.calls = append(r.calls, line)
		return nil, nil
	}
	switch args[0] {
	case "lvs", "vgs": // reports are answered, not recorded
		return r.report(args[0])
	case "version":
		return []byte("  LVM version: recorded\n"), nil
	case "segtypes":
		return []byte("striped\nthin-pool\nthin\n"), nil
	}
	r.calls = append(r.calls, line)
	r.apply(args)
	return nil, nil
}

// apply updates the group for lvcreate, lvremove, lvrename and lvextend.
func (r *recorder) apply(args []string) {
	flag := func(names ...string) string {
		for i, a := range args {
			for _, n := range names {
				if a == n && i+1 < len(args) {
					return args[i+1]
				}
			}
		}
		return ""
	}
	gib := func(s string) int {
		var n int
		fmt.Sscanf(strings.TrimSuffix(s, "g"), "%d", &n)
		return n
	}
	last := args[len(args)-1]
	lvName := strings.TrimPrefix(last, r.vg+"/")
	switch args[0] {
	case "lvcreate":
		name := flag("-n", "--name")
		if name == "" { // the thin pool: lvcreate -T -L size vg/vg-pool
			r.add(lvName, 1, "")
			return
		}
		size := gib(flag("-L"))
		pool := ""
		if v := flag("-V"); v != "" {
			size, pool = gib(v), lvName
		}
		if origin := flag("--snapshot"); origin != "" {
			o := r.lvs[strings.TrimPrefix(origin, r.vg+"/")]
			size = int(o.bytes() >> 30)
			pool = o.Pool
		}
		r.add(name, size, pool)
	case "lvremove":
		delete(r.lvs, lvName)
	case "lvrename":
		lv := r.lvs[args[2]]
		delete(r.lvs, args[2])
		lv.Name = args[3]
		r.lvs[args[3]] = lv
	case "lvextend":
		lv := r.lvs[lvName]
		lv.Size = fmt.Sprint(int64(gib(flag("-L"))) << 30)
		r.lvs[lvName] = lv
	}
}

func (r *recorder) report(kind string) ([]byte, error) {
	var rows any
	if kind == "vgs" {
		rows = map[string]any{"vg": []map[string]string{{"vg_name": r.vg, "vg_size": fmt.Sprint(int64(100) << 30), "vg_free": fmt.Sprint(int64(40) << 30), "lv_count": fmt.Sprint(len(r.lvs))}}}
	} else {
		names := make([]string, 0, len(r.lvs))
		for n := range r.lvs {
			names = append(names, n)
		}
		sort.Strings(names)
		lvs := make([]lvReport, 0, len(names))
		for _, n := range names {
			lvs = append(lvs, r.lvs[n])
		}
		rows = map[string]any{"lv": lvs}
	}
	return json.Marshal(map[string]any{"report": []any{rows}})
}

// lines returns the recorded command lines and forgets them.
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}
