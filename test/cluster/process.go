package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one service of the cluster, started from its binary with its own configuration
// file; its stdout and stderr are appended to its log file across restarts.
type Process struct {
	Name    string // api, scheduler, volume-<host>
	Binary  string // path of the executable
	Config  string // path of its --config-file
	LogPath string
	// Args go before --config-file (the all-in-one's --data-dir).
	Args []string
	// Wrap is a command line the binary runs under, at every start and restart (e.g. unshare -m
	// --propagation private, so that mounts the process makes die with it); empty: none.
	Wrap []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current run exited
	exitErr error
	stopped bool // the current run was stopped on purpose
}

// Start runs the process; it must not be running. Callers outside the cluster (another
// harness that starts its own binary) wait for it to be up themselves.
func (p *Process) Start() error { return p.start() }

// start runs the process; it must not be running.
func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.Name, p.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	argv := append(append(append([]string(nil), p.Wrap...), p.Binary), p.Args...)
	argv = append(argv, "--config-file", p.Config)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = cleanEnv()
	// The processes die with the test binary even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logf, "==== cluster: %s starting %s\n", time.Now().Format("15:04:05.000"), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exitErr, p.stopped = cmd, done, nil, false
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logf, "==== cluster: %s pid %d exited: %v\n", time.Now().Format("15:04:05.000"), cmd.Process.Pid, exitText(err))
		logf.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// cleanEnv is the environment without SCORIA_* overrides that would change the configuration
// the cluster wrote.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCORIA_") {
			env = append(env, kv)
		}
	}
	return env
}

func isClosed(ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Running reports whether the process runs now.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.done)
}

// Pid is the process id of the current run (0 when never started).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited says how the process ended when it ended by itself (not stopped or killed by the
// cluster), or nil while it runs or after a stop.
func (p *Process) Exited() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || !isClosed(p.done) || p.stopped {
		return nil
	}
	return fmt.Errorf("%s (pid %d) exited by itself: %s", p.Name, p.cmd.Process.Pid, exitText(p.exitErr))
}

// signal sends sig and waits up to grace for the exit; after grace it sends SIGKILL.
func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	if cmd == nil || isClosed(done) {
		p.stopped = true
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	if sig != syscall.SIGKILL {
		_ = cmd.Process.Kill()
		select {
		case <-done:
			return fmt.Errorf("%s did not stop within %s of %s; killed", p.Name, grace, sig)
		case <-time.After(10 * time.Second):
		}
	}
	return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, cmd.Process.Pid)
}

// Kill sends SIGKILL (kill -9) and waits for the exit.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM and waits up to 15 s for a clean exit, then kills.
func (p *Process) Stop() error { return p.signal(syscall.SIGTERM, 15*time.Second) }
