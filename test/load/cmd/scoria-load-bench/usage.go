package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/scoria/scoria/test/load"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc (100 on Linux everywhere Go runs).
const clockTick = 100

// usage measures where the machine's time goes in each phase: CPU seconds of each service
// process, of MariaDB and RabbitMQ, of this load generator and of everything else, read from
// /proc; and the statements MariaDB ran (its global counters, so other clients on the same
// server count too).
type usage struct {
	pids   map[string][]int // label → pids
	labels []string         // columns, in order
	db     *sql.DB

	mu     sync.Mutex
	start  map[string]snapshot
	phases []phaseUsage
}

type snapshot struct {
	at    time.Time
	cpu   map[string]time.Duration // by label
	busy  time.Duration            // the whole machine, all cores
	idle  time.Duration
	stats map[string]int64
}

type phaseUsage struct {
	name       string
	ops        int
	wall       time.Duration
	cpu        map[string]time.Duration
	busy, idle time.Duration
	stats      map[string]int64
}

// Labels of the usage table, in order.
var usageLabels = []string{"scoria-api", "scoria-scheduler", "scoria-volume", "mariadbd", "rabbitmq", "load generator"}

// MariaDB counters read per phase.
var dbCounters = []string{"Questions", "Com_select", "Com_insert", "Com_update", "Com_delete", "Com_commit", "Innodb_data_fsyncs", "Connections"}

// newUsage measures services (label → pids), MariaDB, RabbitMQ, this process and, with
// withTGTD, the machine's tgtd.
func newUsage(db *sql.DB, services map[string][]int, withTGTD bool) *usage {
	u := &usage{pids: map[string][]int{}, labels: usageLabels, db: db, start: map[string]snapshot{}}
	for k, v := range services {
		u.pids[k] = v
	}
	u.pids["load generator"] = []int{os.Getpid()}
	u.pids["mariadbd"] = findProcesses("mariadbd", "mysqld")
	u.pids["rabbitmq"] = findProcesses("beam.smp")
	if tgtd := findProcesses("tgtd"); withTGTD && len(tgtd) > 0 {
		u.pids["tgtd"] = tgtd
		u.labels = append(slices.Clone(usageLabels), "tgtd")
	}
	return u
}

// findProcesses lists the pids whose command name is one of names.
func findProcesses(names ...string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		for _, n := range names {
			if strings.TrimSpace(string(comm)) == n {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// processCPU is utime+stime of pid plus cutime+cstime, the CPU of its children it waited for
// (the tgtadm commands of scoria-volume), 0 when it is gone.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start at state, field 3.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// machineCPU is the busy and idle time of all cores from /proc/stat.
func machineCPU() (busy, idle time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var v [8]int64
	for i := 1; i < len(f) && i <= 8; i++ {
		v[i-1], _ = strconv.ParseInt(f[i], 10, 64)
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / clockTick }
	return tick(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]), tick(v[3] + v[4])
}

func (u *usage) snap() snapshot {
	s := snapshot{at: time.Now(), cpu: map[string]time.Duration{}, stats: map[string]int64{}}
	for label, pids := range u.pids {
		for _, pid := range pids {
			s.cpu[label] += processCPU(pid)
		}
	}
	s.busy, s.idle = machineCPU()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := u.db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('"+strings.Join(dbCounters, "','")+"')")
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var name string
			var v int64
			if rows.Scan(&name, &v) == nil {
				s.stats[name] = v
			}
		}
	}
	return s
}

// hook is load.Config.Hook.
func (u *usage) hook(phase string, end bool) {
	s := u.snap()
	u.mu.Lock()
	defer u.mu.Unlock()
	if !end {
		u.start[phase] = s
		return
	}
	b := u.start[phase]
	p := phaseUsage{name: phase, wall: s.at.Sub(b.at), cpu: map[string]time.Duration{}, stats: map[string]int64{},
		busy: s.busy - b.busy, idle: s.idle - b.idle}
	for k, v := range s.cpu {
		p.cpu[k] = v - b.cpu[k]
	}
	for k, v := range s.stats {
		p.stats[k] = v - b.stats[k]
	}
	u.phases = append(u.phases, p)
}

// write prints the usage of each phase, of those of phases (which count the operations).
func (u *usage) write(w io.Writer, phases []load.Phase) {
	ops := map[string]int{}
	for _, p := range phases {
		ops[p.Name] = p.OK + p.Errors
	}
	fmt.Fprintf(w, "\nwhere the time went: CPU seconds per phase (%% of the machine's %d cores over the phase's wall time)\n", cores())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "phase\twall\t%s\tother\tidle\t\n", strings.Join(u.labels, "\t"))
	for _, p := range u.phases {
		total := p.busy + p.idle
		pct := func(d time.Duration) string {
			if total <= 0 {
				return fmt.Sprintf("%.2fs", d.Seconds())
			}
			return fmt.Sprintf("%.2fs %2.0f%%", d.Seconds(), 100*float64(d)/float64(total))
		}
		var ours time.Duration
		cells := []string{}
		for _, l := range u.labels {
			ours += p.cpu[l]
			cells = append(cells, pct(p.cpu[l]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", p.name, load.FormatDuration(p.wall), strings.Join(cells, "\t"), pct(max(0, p.busy-ours)), pct(p.idle))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nMariaDB statements per operation (global counters: other clients of the server count too)\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "phase\toperations\t%s\t\n", strings.Join(dbCounters, "\t"))
	for _, p := range u.phases {
		n := ops[p.name]
		cells := []string{}
		for _, c := range dbCounters {
			if n > 0 {
				cells = append(cells, fmt.Sprintf("%.2f", float64(p.stats[c])/float64(n)))
			} else {
				cells = append(cells, "-")
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", p.name, n, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func cores() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "cpu") && !strings.HasPrefix(line, "cpu ") {
			n++
		}
	}
	return n
}
