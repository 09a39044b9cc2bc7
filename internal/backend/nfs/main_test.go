package nfs

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
)

// The tests of this package bind-mount NFS exports (BindMounter, the TEST STAND-IN for an NFS
// mount) and must not leave mounts in the machine's mount namespace, even when a test is
// killed half-way. So TestMain, when run as root outside a private mount namespace, runs the
// test binary again, with the same arguments, under `unshare -m --propagation private`, and
// exits with its status: every mount a test makes there disappears with the process, and none
// propagates to the host. The child is marked with unsharedEnv, set to the parent's mount
// namespace (/proc/self/ns/mnt), so that it does not do it again and can prove it left it.
// Without unshare (or where it may not make a namespace, e.g. an unprivileged container) the
// tests run here as they are, and those that mount unmount in t.Cleanup.
const unsharedEnv = "SCORIA_NFS_TEST_UNSHARED"

// parentNamespace is, in the re-executed child, the mount namespace of the process that
// started it (unsharedEnv), for TestMountNamespace; "" elsewhere.
var parentNamespace string

func TestMain(m *testing.M) {
	if code, ran := runUnshared(); ran {
		os.Exit(code)
	}
	parentNamespace = os.Getenv(unsharedEnv)
	os.Exit(m.Run())
}

// runUnshared re-executes the test binary in a private mount namespace when that is needed and
// possible; ran says whether it did, code is then the child's exit status.
func runUnshared() (code int, ran bool) {
	if os.Getenv(unsharedEnv) != "" || os.Geteuid() != 0 {
		return 0, false
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		logrus.Warnf("nfs tests: no mount namespace to compare (%v): running in this one", err)
		return 0, false
	}
	if init, err := os.Readlink("/proc/1/ns/mnt"); err == nil && self != init {
		return 0, false // already in a mount namespace of its own
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		logrus.Warnf("nfs tests: no unshare (%v): bind mounts are made in this mount namespace and removed by the tests", err)
		return 0, false
	}
	if out, err := exec.Command(unshare, "-m", "--propagation", "private", "true").CombinedOutput(); err != nil {
		logrus.Warnf("nfs tests: unshare cannot make a mount namespace here (%v: %s): bind mounts are made in this one and removed by the tests", err, strings.TrimSpace(string(out)))
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		logrus.Warnf("nfs tests: cannot re-execute the test binary (%v): running in this mount namespace", err)
		return 0, false
	}
	// unshare execs the test binary in its own process: killed with this one (Pdeathsig, tied
	// to this thread, hence locked), and sent the signals this one gets.
	runtime.LockOSThread()
	cmd := exec.Command(unshare, append([]string{"-m", "--propagation", "private", exe}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), unsharedEnv+"="+self)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		signal.Stop(sigs)
		logrus.Warnf("nfs tests: start %s: %v: running in this mount namespace", unshare, err)
		return 0, false
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode(), true
	default: // killed by a signal
		logrus.Errorf("nfs tests in a private mount namespace: %v", err)
		return 1, true
	}
}

// TestMountNamespace checks that, as root with unshare usable, the tests run in a private mount
// namespace: not the one of the process that started them (nor PID 1's), and with "/"
// propagating nothing (no shared: peer group in /proc/self/mountinfo).
func TestMountNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the tests make no mounts, no namespace is needed")
	}
	if parentNamespace == "" {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skipf("no unshare: %v", err)
		}
		if err := exec.Command("unshare", "-m", "--propagation", "private", "true").Run(); err != nil {
			t.Skipf("unshare cannot make a mount namespace here: %v", err)
		}
		self, _ := os.Readlink("/proc/self/ns/mnt")
		if init, err := os.Readlink("/proc/1/ns/mnt"); err == nil && self != init {
			t.Skipf("started in a mount namespace of its own (%s), left as it is", self)
		}
		t.Fatal("root with a working unshare, yet the tests run in the machine's mount namespace")
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if self == parentNamespace {
		t.Fatalf("in the mount namespace of the process that started the tests, %s", self)
	}
	if init, err := os.Readlink("/proc/1/ns/mnt"); err == nil && init == self {
		t.Fatalf("in PID 1's mount namespace %s", self)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := false
	for sc.Scan() {
		// id parent major:minor root mountpoint options optional-fields… - type source super
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 || fields[4] != "/" {
			continue
		}
		found = true
		for _, opt := range fields[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") {
				t.Errorf("/ propagates to peer group %s: %s", opt, sc.Text())
			}
		}
	}
	if !found {
		t.Fatal("no / in /proc/self/mountinfo")
	}
}
