package lvm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// TestRealInventory lists Scoria's logical volumes on the real lvm2 (a volume, a copy in
// progress, a thick clone's temporary snapshot name, an LV that is not Scoria's) with their
// sizes and creation times, and removes one as a delete of its kind does: cleared with dd
// (recorded: no LV can be activated here), then lvremove.
func TestRealInventory(t *testing.T) {
	vg := newRealVG(t, 6)
	rec := newRecorder("")
	d := vg.driver(TypeDefault, rec)
	ctx := context.Background()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	const a, b = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"
	for _, lv := range []string{"volume-" + a, "volume-" + b + ".partial", "clone-snap-" + b, "notes", "volume-nope"} {
		if err := d.createLV(ctx, lv, 1); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-2 * time.Second)
	objs, err := d.ListObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, fmt.Sprintf("%s %s %s temporary=%v held=%v %d", o.Name, o.Kind, o.ID, o.Temporary, o.Held, o.Size))
		if o.Changed.Before(start.Add(-time.Minute)) || o.Changed.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: changed %v, want about now", o.Name, o.Changed)
		}
	}
	sort.Strings(got)
	want := []string{
		fmt.Sprintf("clone-snap-%s volume %s temporary=true held=false %d", b, b, driver.GiB),
		fmt.Sprintf("volume-%s volume %s temporary=false held=false %d", a, a, driver.GiB),
		fmt.Sprintf("volume-%s.partial volume %s temporary=true held=false %d", b, b, driver.GiB),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("objects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range 2 { // the second finds it gone
		if err := d.DeleteObject(ctx, driver.Object{Name: "volume-" + a}); err != nil {
			t.Fatalf("DeleteObject #%d: %v", i+1, err)
		}
	}
	if err := d.DeleteObject(ctx, driver.Object{Name: "notes"}); err == nil {
		t.Error("DeleteObject removed an LV that is not Scoria's")
	}
	lvs, err := d.lvs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lvs["volume-"+a]; ok {
		t.Error("volume-" + a + " is still there")
	}
	if _, ok := lvs["notes"]; !ok {
		t.Error("notes was removed")
	}
	wantDD := "dd if=/dev/zero of=/dev/" + vg.name + "/volume-" + a + " bs=1M count=1024 oflag=direct conv=fdatasync"
	if got := strings.Join(rec.lines(), "\n"); got != wantDD {
		t.Errorf("data commands:\n%s\nwant\n%s", got, wantDD)
	}
}
