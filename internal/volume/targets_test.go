package volume

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/target"
	"github.com/scoria/scoria/pkg/driver"
)

// systemTGT is the real tgtadm helper on the machine's tgtd (127.0.0.1:3260, which .ci/run
// starts), with a target prefix of the test's own so that its targets are apart from any
// other. Without tgtd the test is skipped, or fails under CI=true.
func systemTGT(t *testing.T) *target.TGT {
	t.Helper()
	tg := &target.TGT{Config: target.Config{IPAddress: "127.0.0.1", Port: 3260,
		Prefix: "iqn.2010-10.org.scoria-test-" + uuid.NewString()[:8] + ":", VolumesDir: t.TempDir(), UseCHAP: true, WriteCache: true}}
	if err := tg.Setup(context.Background()); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tgtd is not usable (.ci/run installs tgt and starts tgtd): %v", err)
		}
		t.Skipf("tgtd is not usable: %v", err)
	}
	return tg
}

func hasTarget(t *testing.T, iqn string) bool {
	t.Helper()
	out, err := exec.Command("tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("tgtadm show: %v %s", err, out)
	}
	return strings.Contains(string(out), iqn+"\n")
}

func TestTargetsAtStartAndDelete(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tg := systemTGT(t)
	f.m.Target = tg
	export := func(v *resource.Volume) string {
		t.Helper()
		dv := driverVolume(v)
		if _, err := f.drv.Create(ctx, dv); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.Export(ctx, dv, driver.BackingStore{Path: f.drv.DevicePath(dv)}, nil, "rw"); err != nil {
			t.Fatalf("Export: %v", err)
		}
		t.Cleanup(func() { _ = tg.Unexport(ctx, dv) })
		return tg.IQN(dv)
	}
	attached := export(f.volume(resource.StatusInUse, f.m.Host+"#file", 1))
	other := export(f.volume(resource.StatusInUse, "otherhost@file#file", 1))
	orphan := export(&resource.Volume{ID: uuid.NewString(), Size: 1}) // no row: its volume is gone
	deleted := f.volume(resource.StatusAvailable, f.m.Host+"#file", 1)
	deletedIQN := export(deleted)
	if _, err := f.store.TransitionVolume(ctx, deleted.ID, resource.DeletableStatuses, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
		t.Fatal(err)
	}

	// tgtd lost the attached volume's target (as after a restart)
	if out, err := exec.Command("tgt-admin", "--delete", attached, "--force").CombinedOutput(); err != nil || hasTarget(t, attached) {
		t.Fatalf("tgt-admin --delete: %v %s", err, out)
	}

	if err := f.m.setupBackend(ctx); err != nil {
		t.Fatalf("setupBackend: %v", err)
	}
	if err := f.m.Recover(ctx); err != nil { // finishes the delete, which removes its target
		t.Fatalf("Recover: %v", err)
	}
	if err := f.m.recoverTargets(ctx); err != nil {
		t.Fatalf("recoverTargets: %v", err)
	}
	for iqn, want := range map[string]bool{attached: true, other: true, orphan: false, deletedIQN: false} {
		if got := hasTarget(t, iqn); got != want {
			t.Errorf("target %s present = %v, want %v", iqn, got, want)
		}
	}
	if got := f.status(deleted.ID); got != "gone" {
		t.Errorf("deleted volume status %s", got)
	}
}

func TestTargetDaemonUnavailable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.m.Target = &target.TGT{Binary: filepath.Join(t.TempDir(), "no-tgtadm"), Config: target.Config{VolumesDir: t.TempDir()}}
	if err := f.m.setupBackend(ctx); !errors.Is(err, target.ErrUnavailable) {
		t.Errorf("setupBackend without tgtadm = %v, want ErrUnavailable (the backend stays down)", err)
	}
	// The same real helper, facing no tgtd, for the rest.
	v := f.volume(resource.StatusDeleting, f.m.Host+"#file", 1)
	if err := f.m.DeleteVolume(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.status(v.ID); got != resource.StatusErrorDeleting {
		t.Errorf("a delete whose target cannot be removed: status %s, want error_deleting", got)
	}
	if _, err := f.m.InitializeConnection(ctx, rpcapi.ConnectionArgs{VolumeID: v.ID}); !errors.Is(err, target.ErrUnavailable) {
		t.Errorf("InitializeConnection = %v, want ErrUnavailable", err)
	}
}
