package volumeio

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/target"
	"github.com/scoria/scoria/pkg/driver"
)

// startTGTD runs a tgtd of the test's own on a free iSCSI port of 127.0.0.1 and its own
// control port, and answers the target helper that drives it. Without root or tgtd the
// test skips, or fails under CI=true.
func startTGTD(t *testing.T, chap bool) *target.TGT {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("tgtd needs root, and CI=true")
		}
		t.Skip("tgtd needs root")
	}
	bin := need(t, "tgtd")
	need(t, "tgtadm")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	control := 1000 + port%30000
	cmd := exec.Command(bin, "-f", "-C", fmt.Sprint(control), "--iscsi", fmt.Sprintf("portal=127.0.0.1:%d", port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tgtd: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := exec.Command("tgtadm", "-C", fmt.Sprint(control), "--lld", "iscsi", "--mode", "system", "--op", "show").Run()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tgtd did not answer within 10s: %v; its output: %s", err, out.String())
		}
	}
	return &target.TGT{
		Config: target.Config{IPAddress: "127.0.0.1", Port: port, Prefix: "iqn.2010-10.org.openstack:",
			VolumesDir: filepath.Join(t.TempDir(), "targets"), UseCHAP: chap},
		ControlPort: control,
		Timeout:     10 * time.Second,
	}
}

// TestOpenISCSI reads and writes a LUN that the real tgtd exports from a file, with and
// without CHAP, through qemu-img's libiscsi driver: the bytes read are the file's, the
// bytes written reach the file, the password is in no log line, scratch files go.
func TestOpenISCSI(t *testing.T) {
	need(t, "qemu-img")
	ctx := context.Background()
	for _, chap := range []bool{true, false} {
		t.Run(map[bool]string{true: "chap", false: "no auth"}[chap], func(t *testing.T) {
			tg := startTGTD(t, chap)
			id := "aaaaaaaa-bbbb-cccc-dddd-00000000000" + map[bool]string{true: "1", false: "2"}[chap]
			v := driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: 1}
			path := filepath.Join(t.TempDir(), v.Name)
			content := pattern(30, 4<<20)
			writeFile(t, path, content)
			info, err := tg.Export(ctx, v, driver.BackingStore{Path: path}, driver.Connector{"initiator": "iqn.1993-08.org.debian:01:test"}, "rw")
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			t.Cleanup(func() { _ = tg.Unexport(ctx, v) })
			password, _ := info.Data["auth_password"].(string)
			if chap != (password != "") {
				t.Fatalf("connection info %v: CHAP %v", info.Data, chap)
			}
			a, scratch, hook := newTestAttacher(t, nil)

			d, err := a.Open(ctx, info, ReadOnly)
			if err != nil {
				t.Fatal(err)
			}
			if d.Size() != int64(len(content)) {
				t.Fatalf("Size() = %d, want %d", d.Size(), len(content))
			}
			mustEqual(t, "read from the LUN", readAll(t, d), content)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}

			w, err := a.Open(ctx, info, ReadWrite)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, len(content)) // a read-write device starts as zeros
			mustEqual(t, "a fresh read-write device", readAll(t, w), want)
			for _, off := range []int64{0, 1<<20 + 17, int64(len(content)) - 512} {
				p := pattern(off+31, 512)
				if _, err := w.WriteAt(p, off); err != nil {
					t.Fatal(err)
				}
				copy(want[off:], p)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "the exported file after a write", got, want)
			again, err := a.Open(ctx, info, ReadOnly)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "the LUN read again", readAll(t, again), want)
			again.Close()

			if chap {
				bad := driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: map[string]any{}}
				for k, v := range info.Data {
					bad.Data[k] = v
				}
				bad.Data["auth_password"] = "wrong-password-123"
				if d, err := a.Open(ctx, bad, ReadOnly); err == nil {
					d.Close()
					t.Error("a wrong CHAP password was accepted")
				} else if strings.Contains(err.Error(), "wrong-password-123") {
					t.Errorf("the error shows the password: %v", err)
				}
				if l := logged(hook); strings.Contains(l, password) || strings.Contains(l, "wrong-password-123") {
					t.Errorf("a CHAP password was logged:\n%s", l)
				}
			}
			if left := scratchLeft(t, scratch); len(left) != 0 {
				t.Errorf("scratch files left: %v", left)
			}
		})
	}
}

// TestISCSIArgsHideThePassword checks what reaches qemu-img's command line: the LUN and
// user, the password only by reference to a secret read from a descriptor.
func TestISCSIArgsHideThePassword(t *testing.T) {
	l, err := parseISCSI(connData{"target_portals": []any{"[::1]:3260"}, "target_iqns": []any{"iqn.2010-10.org.openstack:v,1"},
		"target_luns": []any{1.0}, "auth_method": "CHAP", "auth_username": "u", "auth_password": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(append(l.secretArgs(), l.imageOpts()), " ")
	want := "--object secret,id=volumeio-chap,file=/dev/fd/3 driver=iscsi,transport=tcp,portal=[::1]:3260,target=iqn.2010-10.org.openstack:v,,1,lun=1,user=u,password-secret=volumeio-chap"
	if args != want {
		t.Errorf("qemu-img arguments\n%s\nwant\n%s", args, want)
	}
	if strings.Contains(args, "s3cret") || strings.Contains(l.String(), "s3cret") {
		t.Error("the password is on the command line or in the LUN's name")
	}
}
