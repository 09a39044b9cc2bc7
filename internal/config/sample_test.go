package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	// The sample shows the options of Scoria's drivers, which register themselves.
	_ "github.com/scoria/scoria/internal/backend/localfile"
	_ "github.com/scoria/scoria/internal/backend/lvm"
	_ "github.com/scoria/scoria/internal/backend/nfs"
	_ "github.com/scoria/scoria/internal/backend/rbd"
	_ "github.com/scoria/scoria/internal/backend/sheepdog"
)

var update = flag.Bool("update", false, "rewrite etc/scoria.conf.sample from the option tables")

var samplePath = filepath.Join("..", "..", "etc", "scoria.conf.sample")

// TestSampleUpToDate fails when etc/scoria.conf.sample no longer matches the option tables;
// go test ./internal/config -update rewrites it.
func TestSampleUpToDate(t *testing.T) {
	want := Sample()
	if *update {
		if err := os.WriteFile(samplePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("%v (go test ./internal/config -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./internal/config -update", samplePath)
	}
}

func TestSampleCoversEveryOption(t *testing.T) {
	s := string(Sample())
	for _, o := range Options() {
		if !strings.Contains(s, "\n#"+o.Name+" = ") && !strings.Contains(s, "\n"+o.Name+" = ") {
			t.Errorf("the sample lacks %s/%s", o.Section, o.Name)
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if len(line) > 90 {
			t.Errorf("line longer than 90 characters: %q", line)
		}
	}
}

// TestSampleLoads: the sample is a valid configuration as it stands, and its [local] backend
// works once enabled_backends names it.
func TestSampleLoads(t *testing.T) {
	p := writeFile(t, t.TempDir(), "scoria.conf", string(Sample()))
	c := mustLoad(t, []string{p})
	want := []string{"local/local_volume_dir (" + p + ")", "local/volume_driver (" + p + ")"}
	if !slices.Equal(c.Ignored, want) {
		t.Errorf("Ignored = %q, want %q", c.Ignored, want)
	}
	c = mustLoad(t, []string{p}, "SCORIA_DEFAULT__ENABLED_BACKENDS=local")
	b := backend(t, c, "local")
	if b.VolumeDriver != "localfile" || b.String("local_volume_dir", "") != "/var/lib/scoria/volumes" || len(c.Ignored) != 0 {
		t.Errorf("local: driver %q, dir %q, ignored %q", b.VolumeDriver, b.String("local_volume_dir", ""), c.Ignored)
	}
	// Uncommenting each option line with its default changes nothing.
	var lines []string
	for _, line := range strings.Split(string(Sample()), "\n") {
		if strings.HasPrefix(line, "#[") {
			break // the commented example sections
		}
		if name, def, ok := strings.Cut(strings.TrimPrefix(line, "#"), " = "); ok && strings.HasPrefix(line, "#") && !strings.Contains(def, "<") && !strings.Contains(name, " ") {
			line = name + " = " + def
		}
		lines = append(lines, line)
	}
	uncommented := writeFile(t, t.TempDir(), "scoria.conf", strings.Join(lines, "\n"))
	d := mustLoad(t, []string{uncommented}, "SCORIA_DEFAULT__ENABLED_BACKENDS=local", "SCORIA_DEFAULT__HOST="+c.Default.Host)
	if d.Default.OsapiVolumePort != c.Default.OsapiVolumePort || d.Default.ReportInterval != c.Default.ReportInterval ||
		d.Default.DefaultAvailabilityZone != c.Default.DefaultAvailabilityZone || backend(t, d, "local").MaxOverSubscriptionRatio != "20.0" ||
		backend(t, d, "local").VolumeDriver != "localfile" {
		t.Errorf("defaults written out differ: %+v\nfrom %+v", d.Default, c.Default)
	}
}
