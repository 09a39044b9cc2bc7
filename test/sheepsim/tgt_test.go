package sheepsim

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests drive Debian's real tgtd (bs_sheepdog) and a real iSCSI initiator (qemu-io's
// iscsi:// driver, libiscsi) against the sheep simulator. They use the tgtd that
// deploy/test-env.sh starts (tgtadm's default control port; the portal is
// SCORIA_TEST_TGT_PORTAL, default 127.0.0.1:3260), with a target id of 900 or more, removed at
// the end. Without root, tgtd, tgtadm or qemu-io they skip; under CI=true they fail.

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, fmt.Sprintf("%s is missing (Debian: tgt, qemu-utils, qemu-block-extra; deploy/test-env.sh installs them)", name))
	}
	return p
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI=true", why)
	}
	t.Skip(why)
}

func tgtPortal() string {
	if p := os.Getenv("SCORIA_TEST_TGT_PORTAL"); p != "" {
		return p
	}
	return "127.0.0.1:3260"
}

func tgtadm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tgtadm", append([]string{"--lld", "iscsi"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tgtadm %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startSimLowPort starts the simulator on a free port ≤ 9999: tgt 1.0.85 formats the port
// into snprintf(port_s, 5, …), so a five-digit port reaches tgtd truncated.
func startSimLowPort(t *testing.T) *Server {
	t.Helper()
	var lastErr error
	for i := 0; i < 50; i++ {
		port := 7000 + rand.Intn(2999)
		srv, err := Start(Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Logf: t.Logf})
		if err == nil {
			t.Cleanup(srv.Stop)
			return srv
		}
		lastErr = err
	}
	t.Fatalf("no free port in 7000–9999 for the sheep simulator: %v", lastErr)
	return nil
}

// freeTID picks a target id ≥ 900 that tgtd does not use.
func freeTID(t *testing.T) int {
	t.Helper()
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^Target (\d+):`).FindAllStringSubmatch(tgtadm(t, "--mode", "target", "--op", "show"), -1) {
		used[m[1]] = true
	}
	for tid := 900 + os.Getpid()%50; tid < 1000; tid++ {
		if !used[fmt.Sprint(tid)] {
			return tid
		}
	}
	t.Fatal("no free target id in 900–999")
	return 0
}

// qemuIO runs qemu-io commands on LUN 1 of the target; it fails the test on an error (qemu-io
// prints failed verifications as "Pattern verification failed").
func qemuIO(t *testing.T, url string, cmds ...string) string {
	t.Helper()
	args := []string{"-f", "raw"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	args = append(args, url)
	cmd := exec.Command("qemu-io", args...)
	out, err := cmd.CombinedOutput()
	s := string(out)
	if err != nil || strings.Contains(s, "verification failed") || strings.Contains(s, "error") || strings.Contains(s, "failed") {
		t.Fatalf("qemu-io %v: %v: %s", cmds, err, s)
	}
	return s
}

func TestTGTDSheepdogBackingStore(t *testing.T) {
	if os.Geteuid() != 0 {
		missing(t, "tgtadm needs root")
	}
	requireTool(t, "tgtadm")
	requireTool(t, "qemu-io")
	if c, err := net.DialTimeout("tcp", tgtPortal(), 2*time.Second); err != nil {
		missing(t, fmt.Sprintf("tgtd does not listen on %s (deploy/test-env.sh starts it): %v", tgtPortal(), err))
	} else {
		c.Close()
	}
	if out, err := exec.Command("tgtadm", "--lld", "iscsi", "--mode", "system", "--op", "show").CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("tgtadm cannot reach tgtd: %v: %s", err, out))
	}

	srv := startSimLowPort(t)
	c := dial(t, srv.Addr())
	const size = 64 << 20
	vdiName := fmt.Sprintf("h6-tgt-%d", os.Getpid())
	vid := c.create(vdiName, size)

	tid := freeTID(t)
	iqn := fmt.Sprintf("iqn.2026-12.invalid.scoria:sheepsim-%d", tid)
	user, pass := fmt.Sprintf("sheepsim%d", tid), "Sheep-Sim-Secret-1234"
	tgtadm(t, "--mode", "target", "--op", "new", "--tid", fmt.Sprint(tid), "--targetname", iqn)
	t.Cleanup(func() {
		exec.Command("tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "delete", "--force", "--tid", fmt.Sprint(tid)).Run()
		exec.Command("tgtadm", "--lld", "iscsi", "--mode", "account", "--op", "delete", "--user", user).Run()
	})
	tgtadm(t, "--mode", "logicalunit", "--op", "new", "--tid", fmt.Sprint(tid), "--lun", "1",
		"--bstype", "sheepdog", "--backing-store", fmt.Sprintf("tcp:127.0.0.1:%d:%s", srv.Port(), vdiName))
	tgtadm(t, "--mode", "target", "--op", "bind", "--tid", fmt.Sprint(tid), "--initiator-address", "ALL")
	tgtadm(t, "--mode", "account", "--op", "new", "--user", user, "--password", pass)
	tgtadm(t, "--mode", "account", "--op", "bind", "--tid", fmt.Sprint(tid), "--user", user)

	// LUN 2: a second VDI for a bulk round trip of random data.
	const bulk = 16 << 20
	bulkName := vdiName + "-bulk"
	bulkVID := c.create(bulkName, bulk)
	tgtadm(t, "--mode", "logicalunit", "--op", "new", "--tid", fmt.Sprint(tid), "--lun", "2",
		"--bstype", "sheepdog", "--backing-store", fmt.Sprintf("tcp:127.0.0.1:%d:%s", srv.Port(), bulkName))

	show := tgtadm(t, "--mode", "target", "--op", "show")
	if !strings.Contains(show, fmt.Sprintf("tcp:127.0.0.1:%d:%s", srv.Port(), vdiName)) || !strings.Contains(show, "Backing store type: sheepdog") {
		t.Fatalf("tgtadm show does not list the sheepdog LUN: %s", show)
	}
	if srv.Requests(OpLockVDI) == 0 || srv.Requests(OpReadObj) == 0 {
		t.Fatalf("tgtd did not LOCK_VDI and READ_OBJ the inode (lock %d, read %d)", srv.Requests(OpLockVDI), srv.Requests(OpReadObj))
	}

	hostPort := tgtPortal()
	url := fmt.Sprintf("iscsi://%s%%%s@%s/%s/1", user, pass, hostPort, iqn)

	t.Run("CHAP is required", func(t *testing.T) {
		out, err := exec.Command("qemu-io", "-f", "raw", "-c", "read 0 512", fmt.Sprintf("iscsi://%s/%s/1", hostPort, iqn)).CombinedOutput()
		if err == nil && !strings.Contains(string(out), "rror") && !strings.Contains(string(out), "failed") {
			t.Fatalf("a login without CHAP credentials worked: %s", out)
		}
	})

	// 8 KiB of 0xa1 across the boundary of objects 0 and 1.
	const off = 4<<20 - 4096
	qemuIO(t, url, fmt.Sprintf("write -P 0xa1 %d 8192", off))

	t.Run("bytes land in the VDI's objects", func(t *testing.T) {
		objs := srv.Objects(vid)
		if len(objs) != 2 || objs[0].Idx != 0 || objs[1].Idx != 1 {
			t.Fatalf("objects of vid %x: %v, want indexes 0 and 1", vid, idxs(objs))
		}
		if !bytes.Equal(objs[0].Data[off:], bytes.Repeat([]byte{0xa1}, 4096)) {
			t.Fatal("object 0 does not end with 4 KiB of 0xa1")
		}
		if !bytes.Equal(objs[0].Data[off-4096:off], make([]byte, 4096)) {
			t.Fatal("object 0 before the write is not zeros")
		}
		if !bytes.Equal(objs[1].Data[:4096], bytes.Repeat([]byte{0xa1}, 4096)) {
			t.Fatal("object 1 does not start with 4 KiB of 0xa1")
		}
		for _, v := range srv.VDIs() {
			if v.VID == vid && (v.DataVDIIDs[0] != vid || v.DataVDIIDs[1] != vid) {
				t.Fatalf("tgtd did not record data_vdi_id[0..1] = %x in the inode: %v", vid, v.DataVDIIDs)
			}
		}
	})

	t.Run("read back through iSCSI", func(t *testing.T) {
		qemuIO(t, url, fmt.Sprintf("read -P 0xa1 %d 8192", off), "read -P 0 0 4096", fmt.Sprintf("read -P 0 %d 4096", 32<<20))
	})

	t.Run("16 MiB of random data round-trip", func(t *testing.T) {
		requireTool(t, "qemu-img")
		data := make([]byte, bulk)
		rand.New(rand.NewSource(time.Now().UnixNano())).Read(data)
		dir := t.TempDir()
		in, back := dir+"/in.raw", dir+"/back.raw"
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		lun2 := strings.TrimSuffix(url, "/1") + "/2"
		if out, err := exec.Command("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", in, lun2).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert into the LUN: %v: %s", err, out)
		}
		got, err := srv.ReadVDI(bulkVID, 0, bulk)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("the simulator's objects do not hold the bytes written through tgtd")
		}
		if n := len(srv.Objects(bulkVID)); n != bulk/(4<<20) {
			t.Fatalf("%d objects, want %d", n, bulk/(4<<20))
		}
		if out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "raw", lun2, back).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert out of the LUN: %v: %s", err, out)
		}
		rb, err := os.ReadFile(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rb, data) {
			t.Fatal("the bytes read back through iSCSI differ")
		}
	})

	t.Run("snapshot while exported: tgtd reloads and writes copy-on-write", func(t *testing.T) {
		locks, readonly := srv.Requests(OpLockVDI), srv.Answers(ResReadOnly)
		nv, sv := c.snapshot(vdiName, "s1")
		if sv != vid {
			t.Fatalf("snapshot VID %x, want the old working VID %x", sv, vid)
		}
		qemuIO(t, url, fmt.Sprintf("write -P 0xc3 %d 4096", off))
		if srv.Answers(ResReadOnly) == readonly {
			t.Fatal("tgtd's write never hit the snapshot's read-only object")
		}
		if srv.Requests(OpLockVDI) == locks {
			t.Fatal("tgtd did not look the name up again after READONLY")
		}
		old, err := srv.ReadVDI(sv, off, 8192)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(old, bytes.Repeat([]byte{0xa1}, 8192)) {
			t.Fatal("the snapshot lost its bytes")
		}
		cur, err := srv.ReadVDI(nv, off, 8192)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cur[:4096], bytes.Repeat([]byte{0xc3}, 4096)) || !bytes.Equal(cur[4096:], bytes.Repeat([]byte{0xa1}, 4096)) {
			t.Fatal("the new working VDI does not hold the new bytes over the inherited ones")
		}
		if objs := srv.Objects(nv); len(objs) != 1 || objs[0].Idx != 0 {
			t.Fatalf("new working VID %x owns objects %v, want only the COW copy of object 0", nv, idxs(objs))
		}
		qemuIO(t, url, fmt.Sprintf("read -P 0xc3 %d 4096", off), fmt.Sprintf("read -P 0xa1 %d 4096", 4<<20))

		// The snapshot's bytes, read back through a clone of it.
		cl := c.clone(sv, vdiName+"-clone", size)
		if got := c.read(cl, off, 8192); !bytes.Equal(got, bytes.Repeat([]byte{0xa1}, 8192)) {
			t.Fatal("a clone of the snapshot does not read the snapshot's bytes")
		}
	})
}

func idxs(objs []Object) []uint32 {
	var out []uint32
	for _, o := range objs {
		out = append(out, o.Idx)
	}
	return out
}
