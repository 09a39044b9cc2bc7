package nfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMeasureCapacity compares the measurement with what the commands Cinder runs print on
// the same directory: stat -f for total and available, du --apparent-size for allocated.
func TestMeasureCapacity(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int64{"volume-a": 1 << 30, "volume-b": 3 << 20, "volume-a.snapshot-1": 1 << 30} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil { // sparse: apparent size only
			t.Fatal(err)
		}
		f.Close()
	}
	got, err := MeasureCapacity(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("stat", "-f", "-c", "%S %b %a", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	bs, _ := strconv.ParseUint(f[0], 10, 64)
	blocks, _ := strconv.ParseUint(f[1], 10, 64)
	avail, _ := strconv.ParseUint(f[2], 10, 64)
	if got.Total != bs*blocks {
		t.Errorf("total %d, stat -f says %d", got.Total, bs*blocks)
	}
	// Available moves with whatever else writes to the disk: within 1 GiB of stat's answer.
	if d := int64(got.Available) - int64(bs*avail); d > 1<<30 || d < -(1<<30) {
		t.Errorf("available %d, stat -f says %d", got.Available, bs*avail)
	}
	out, err = exec.Command("du", "-sb", "--apparent-size", "--exclude", "*snapshot*", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	du, _ := strconv.ParseUint(strings.Fields(string(out))[0], 10, 64)
	if got.Allocated != du {
		t.Errorf("allocated %d, du says %d", got.Allocated, du)
	}
	if got.Allocated < 1<<30+3<<20 || got.Allocated >= 2<<30 {
		t.Errorf("allocated %d: want the two volumes' apparent sizes and not the snapshot's", got.Allocated)
	}
	if _, err := MeasureCapacity(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing mount point measured")
	}
}
