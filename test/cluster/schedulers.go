package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// SchedulerProcess is the name of the n-th scoria-scheduler process (n from 1, up to
// Options.Schedulers): Scheduler for the first, scheduler-n for the others. The first runs
// with host ControllerHost, the n-th with host ControllerHost-n, as schedulers on separate
// controller nodes would; all of them serve the one scheduler topic.
func SchedulerProcess(n int) string {
	if n <= 1 {
		return Scheduler
	}
	return fmt.Sprintf("%s-%d", Scheduler, n)
}

// schedulers is how many scoria-scheduler processes the cluster runs.
func (c *Cluster) schedulers() int { return max(c.opts.Schedulers, 1) }

// addSchedulers adds the scoria-scheduler processes.
func (c *Cluster) addSchedulers() {
	for n := 1; n <= c.schedulers(); n++ {
		c.addProcess(SchedulerProcess(n), BinScheduler)
	}
}

// schedulerHost is the [DEFAULT] host of a scheduler process other than the first.
func (c *Cluster) schedulerHost(name string) (string, bool) {
	n, ok := strings.CutPrefix(name, Scheduler+"-")
	if !ok {
		return "", false
	}
	if _, err := strconv.Atoi(n); err != nil {
		return "", false
	}
	return c.opts.ControllerHost + "-" + n, true
}

// wantSchedulers is what WaitServicesUp waits for of the schedulers: "scheduler HOST" →
// the binary's suffix.
func (c *Cluster) wantSchedulers() map[string]string {
	want := map[string]string{}
	for n := 1; n <= c.schedulers(); n++ {
		host, _ := c.hostOf(SchedulerProcess(n))
		want["scheduler "+host] = "-scheduler"
	}
	return want
}
