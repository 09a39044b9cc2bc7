package nfs

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
)

// The integration tests bind-mount an NFS export (BindMounter, the TEST STAND-IN for an NFS
// mount) and must leave no mount on the machine, even when killed. As the NFS volume
// driver's tests do (internal/backend/nfs/main_test.go), TestMain, as root in the machine's
// mount namespace, runs the test binary again under `unshare -m --propagation private`
// and exits with its status: the mounts disappear with the process.
const unsharedEnv = "SCORIA_BACKUP_NFS_TEST_UNSHARED"

func TestMain(m *testing.M) {
	if code, ran := runUnshared(); ran {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func runUnshared() (code int, ran bool) {
	if os.Getenv(unsharedEnv) != "" || os.Geteuid() != 0 {
		return 0, false
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return 0, false
	}
	if init, err := os.Readlink("/proc/1/ns/mnt"); err == nil && self != init {
		return 0, false // already in a mount namespace of its own
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || exec.Command(unshare, "-m", "--propagation", "private", "true").Run() != nil {
		logrus.Warn("backup nfs tests: no usable unshare: bind mounts are made here and removed by the tests")
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	runtime.LockOSThread() // Pdeathsig is tied to this thread
	cmd := exec.Command(unshare, append([]string{"-m", "--propagation", "private", exe}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), unsharedEnv+"="+self)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		signal.Stop(sigs)
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
	default:
		logrus.Errorf("backup nfs tests in a private mount namespace: %v", err)
		return 1, true
	}
}
