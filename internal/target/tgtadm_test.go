package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// need returns the path of a command the test needs; without it the test is skipped, or
// fails under CI=true, where .ci/run installs it.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (Debian: tgt, libiscsi-bin, qemu-utils, qemu-block-extra; .ci/run installs them)", name)
		}
		t.Skipf("%s is missing: install tgt, libiscsi-bin, qemu-utils and qemu-block-extra", name)
	}
	return p
}

// liveTargets is what tgtd holds now; a failed tgtadm show fails the test instead of
// reading as "no targets".
func liveTargets(t *testing.T, ctx context.Context, tg *TGT) []liveTarget {
	t.Helper()
	live, err := tg.show(ctx)
	if err != nil {
		t.Fatalf("tgtadm show: %v", err)
	}
	return live
}

// tgtd is a tgtd of the test's own, on a free iSCSI port and its own control port, so tests
// can restart it without disturbing another tgtd of the machine.
type tgtd struct {
	t           *testing.T
	bin         string
	port        int // iSCSI portal port on 127.0.0.1
	cmd         *exec.Cmd
	controlPort int
}

func startTGTD(t *testing.T) *tgtd {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("tgtd needs root, and CI=true")
		}
		t.Skip("tgtd needs root")
	}
	d := &tgtd{t: t, bin: need(t, "tgtd")}
	need(t, "tgtadm")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	d.controlPort = 1000 + d.port%30000 // tgtd takes at most 32767
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *tgtd) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.bin, "-f", "-C", fmt.Sprint(d.controlPort), "--iscsi", fmt.Sprintf("portal=127.0.0.1:%d", d.port))
	var out bytes.Buffer
	d.cmd.Stdout, d.cmd.Stderr = &out, &out
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start tgtd: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := exec.Command("tgtadm", "-C", fmt.Sprint(d.controlPort), "--lld", "iscsi", "--mode", "system", "--op", "show").Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("tgtd did not answer within 10s: %v; its output: %s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills tgtd as a crash would: its targets are lost.
func (d *tgtd) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.cmd = nil
}

func (d *tgtd) helper(t *testing.T, chap bool) *TGT {
	return &TGT{
		Config: Config{IPAddress: "127.0.0.1", Port: d.port, Prefix: "iqn.2010-10.org.openstack:",
			VolumesDir: filepath.Join(t.TempDir(), "targets"), UseCHAP: chap, WriteCache: true},
		ControlPort: d.controlPort,
		Timeout:     10 * time.Second,
	}
}

// volumeFile makes a sparse file of size GiB, as the local-file backend does.
func volumeFile(t *testing.T, id string, sizeGiB int) (driver.Volume, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), driver.StorageName(id))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(sizeGiB) * driver.GiB); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return driver.Volume{ID: id, Name: driver.StorageName(id), SizeGiB: sizeGiB}, path
}

// iscsiURL is libiscsi's URL of the LUN of info, with the given CHAP credentials.
func iscsiURL(info driver.ConnectionInfo, user, password string, withLUN bool) string {
	auth := ""
	if user != "" {
		auth = user + "%" + password + "@"
	}
	u := "iscsi://" + auth + info.Data["target_portal"].(string)
	if withLUN {
		u += fmt.Sprintf("/%s/%d", info.Data["target_iqn"], info.Data["target_lun"])
	}
	return u
}

func creds(info driver.ConnectionInfo) (string, string) {
	u, _ := info.Data["auth_username"].(string)
	p, _ := info.Data["auth_password"].(string)
	return u, p
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(need(t, name), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestExportWithRealTGTD(t *testing.T) {
	d := startTGTD(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		chap bool
	}{{"chap", true}, {"no auth", false}} {
		t.Run(tc.name, func(t *testing.T) {
			tg := d.helper(t, tc.chap)
			id := "11111111-2222-3333-4444-" + map[bool]string{true: "000000000001", false: "000000000002"}[tc.chap]
			v, path := volumeFile(t, id, 1)
			info, err := tg.Export(ctx, v, driver.BackingStore{Path: path}, driver.Connector{"initiator": "iqn.1993-08.org.debian:01:test"}, "rw")
			if err != nil {
				t.Fatalf("Export: %v", err)
			}
			wantIQN := "iqn.2010-10.org.openstack:volume-" + id
			portal := fmt.Sprintf("127.0.0.1:%d", d.port)
			for k, want := range map[string]any{"target_discovered": false, "target_iqn": wantIQN, "target_portal": portal,
				"target_lun": 1, "volume_id": id, "access_mode": "rw", "discard": false, "encrypted": false} {
				if got := info.Data[k]; got != want {
					t.Errorf("data[%s] = %v, want %v", k, got, want)
				}
			}
			if info.DriverVolumeType != "iscsi" {
				t.Errorf("driver_volume_type = %q", info.DriverVolumeType)
			}
			if p := info.Data["target_portals"].([]string); len(p) != 1 || p[0] != portal {
				t.Errorf("target_portals = %v", p)
			}
			user, pass := creds(info)
			if tc.chap != (info.Data["auth_method"] == "CHAP") || tc.chap && (len(user) != 20 || len(pass) != 16) {
				t.Fatalf("auth = %v %q %q, chap %v", info.Data["auth_method"], user, pass, tc.chap)
			}

			// idempotent: a second export answers the same
			again, err := tg.Export(ctx, v, driver.BackingStore{Path: path}, nil, "rw")
			if err != nil {
				t.Fatalf("second Export: %v", err)
			}
			if u2, p2 := creds(again); u2 != user || p2 != pass {
				t.Errorf("re-export changed the credentials: %q/%q, first %q/%q", u2, p2, user, pass)
			}
			if live := liveTargets(t, ctx, tg); len(live) != 1 {
				t.Errorf("targets after two exports: %+v", live)
			}

			// the initiator sees the target and the volume's size
			out, err := runTool(t, "iscsi-ls", "-s", iscsiURL(info, user, pass, false))
			if err != nil || !strings.Contains(out, wantIQN) || !strings.Contains(out, "Lun:1") {
				t.Fatalf("iscsi-ls: %v\n%s", err, out)
			}
			out, err = runTool(t, "iscsi-readcapacity16", iscsiURL(info, user, pass, true))
			if err != nil || !strings.Contains(out, fmt.Sprintf("Total size:%d", driver.GiB)) {
				t.Fatalf("iscsi-readcapacity16: %v\n%s", err, out)
			}
			if tc.chap {
				for name, url := range map[string]string{"wrong password": iscsiURL(info, user, pass+"x", true),
					"no credentials": iscsiURL(info, "", "", true)} {
					out, err := runTool(t, "iscsi-readcapacity16", url)
					if err == nil || !strings.Contains(out, "Authentication failure") {
						t.Errorf("%s: login not refused: %v\n%s", name, err, out)
					}
				}
			}

			// bytes written through the iSCSI target land in the backing file
			src := filepath.Join(t.TempDir(), "src.raw")
			payload := []byte("scoria iscsi data path " + tc.name)
			block := make([]byte, 1<<20)
			copy(block, payload)
			if err := os.WriteFile(src, block, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := runTool(t, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, iscsiURL(info, user, pass, true)); err != nil {
				t.Fatalf("qemu-img convert to iscsi: %v\n%s", err, out)
			}
			got := make([]byte, len(payload))
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.ReadAt(got, 0)
			f.Close()
			if !bytes.Equal(got, payload) {
				t.Errorf("backing file starts with %q, want %q", got, payload)
			}

			// unexport: target, file and account gone; a second unexport is fine
			if err := tg.Unexport(ctx, v); err != nil {
				t.Fatalf("Unexport: %v", err)
			}
			if live := liveTargets(t, ctx, tg); len(live) != 0 {
				t.Errorf("targets after unexport: %+v", live)
			}
			if _, err := os.Stat(tg.filePath(wantIQN)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("persistent file after unexport: %v", err)
			}
			if err := tg.Unexport(ctx, v); err != nil {
				t.Errorf("Unexport of a missing target: %v", err)
			}
			if out, err := runTool(t, "iscsi-ls", "-s", iscsiURL(info, user, pass, false)); strings.Contains(out, wantIQN) {
				t.Errorf("iscsi-ls still sees the target: %v\n%s", err, out)
			}
		})
	}
}

func TestTargetsComeBackAfterTGTDRestart(t *testing.T) {
	d := startTGTD(t)
	ctx := context.Background()
	tg := d.helper(t, true)
	ids := []string{"aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"}
	infos := map[string]driver.ConnectionInfo{}
	for _, id := range ids {
		v, path := volumeFile(t, id, 1)
		info, err := tg.Export(ctx, v, driver.BackingStore{Path: path}, nil, "rw")
		if err != nil {
			t.Fatalf("Export %s: %v", id, err)
		}
		infos[id] = info
	}
	d.stop()
	if err := tg.Setup(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Setup with tgtd down = %v, want ErrUnavailable", err)
	}
	if _, err := tg.Export(ctx, driver.Volume{ID: "x"}, driver.BackingStore{Path: "/nonexistent"}, nil, "rw"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Export with tgtd down = %v, want ErrUnavailable", err)
	}
	d.start()
	if live := liveTargets(t, ctx, tg); len(live) != 0 {
		t.Fatalf("a restarted tgtd has targets: %+v", live)
	}
	got, err := tg.Exports(ctx)
	if err != nil {
		t.Fatalf("Exports: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) && fmt.Sprint(got) != fmt.Sprint([]string{ids[1], ids[0]}) {
		t.Fatalf("Exports = %v, want %v", got, ids)
	}
	for _, id := range ids {
		if err := tg.Restore(ctx, id); err != nil {
			t.Fatalf("Restore %s: %v", id, err)
		}
		info := infos[id]
		user, pass := creds(info)
		out, err := runTool(t, "iscsi-readcapacity16", iscsiURL(info, user, pass, true))
		if err != nil || !strings.Contains(out, fmt.Sprintf("Total size:%d", driver.GiB)) {
			t.Errorf("%s after restore: %v\n%s", id, err, out)
		}
	}
	if err := tg.Restore(ctx, ids[0]); err != nil { // a second restore keeps the target
		t.Errorf("second Restore: %v", err)
	}
	if err := tg.Restore(ctx, "not-exported"); err != nil {
		t.Errorf("Restore of a volume without a file: %v", err)
	}
	if live := liveTargets(t, ctx, tg); len(live) != 2 {
		t.Errorf("targets after restore: %+v", live)
	}
}

func TestConfiguredCHAPAndWriteCache(t *testing.T) {
	d := startTGTD(t)
	ctx := context.Background()
	tg := d.helper(t, true)
	tg.CHAPUsername, tg.CHAPPassword, tg.WriteCache = "scoriauser", "scoriasecret12", false
	var infos []driver.ConnectionInfo
	for _, id := range []string{"bbbbbbbb-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"} {
		v, path := volumeFile(t, id, 1)
		info, err := tg.Export(ctx, v, driver.BackingStore{Path: path}, nil, "ro")
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		if u, p := creds(info); u != "scoriauser" || p != "scoriasecret12" || info.Data["access_mode"] != "ro" {
			t.Errorf("data = %v", info.Data)
		}
		infos = append(infos, info)
	}
	for _, info := range infos {
		if out, err := runTool(t, "iscsi-readcapacity16", iscsiURL(info, "scoriauser", "scoriasecret12", true)); err != nil {
			t.Errorf("readcapacity with the configured account: %v\n%s", err, out)
		}
	}
	// the shared account stays while another target uses it
	if err := tg.Unexport(ctx, driver.Volume{ID: "bbbbbbbb-0000-0000-0000-000000000001"}); err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(t, "iscsi-readcapacity16", iscsiURL(infos[1], "scoriauser", "scoriasecret12", true)); err != nil {
		t.Errorf("the other target after an unexport: %v\n%s", err, out)
	}
	if out, err := runTool(t, "iscsi-readcapacity16", iscsiURL(infos[1], "scoriauser", "wrongsecret123", true)); err == nil {
		t.Errorf("a wrong password is not refused:\n%s", out)
	}
	live, err := tg.show(ctx)
	if err != nil || len(live) != 1 || !contains(live[0].Accounts, "scoriauser") {
		t.Errorf("targets after one unexport: %+v, %v", live, err)
	}
	f, err := tg.readFile(live[0].IQN)
	if err != nil || f.WriteCache {
		t.Errorf("persistent file: %+v, %v; want write-cache off", f, err)
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		tg   *TGT
	}{
		{"no binary", &TGT{Binary: "/nonexistent/tgtadm", Config: Config{VolumesDir: t.TempDir()}}},
		{"no daemon", &TGT{ControlPort: 4999, Config: Config{VolumesDir: t.TempDir()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tg.Binary == "" {
				need(t, "tgtadm")
			}
			err := tc.tg.Setup(ctx)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Setup = %v, want ErrUnavailable", err)
			}
			if err := tc.tg.Unexport(ctx, driver.Volume{ID: "x"}); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Unexport = %v, want ErrUnavailable", err)
			}
		})
	}
	if err := (&TGT{}).Setup(ctx); !errors.Is(err, driver.ErrInvalidConfig) {
		t.Errorf("Setup without volumes_dir = %v", err)
	}
}
