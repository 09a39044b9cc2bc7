package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupProcessConfig checks what a scoria-backup process of Options.Backups is given:
// its own host, the cluster's backup_posix_path unless told otherwise, Options.Extra, then its
// spec's Extra winning; and that the volume process gets none of it.
func TestBackupProcessConfig(t *testing.T) {
	c := &Cluster{Dir: t.TempDir(), procs: map[string]*Process{}, opts: Options{
		BinDir: "/bin", VolumeHosts: []string{"node1"}, ControllerHost: "controller",
		Extra:   map[string]string{"backup_compression_algorithm": "zstd", "backup_driver": "x"},
		Backups: []BackupSpec{{Host: "node1", Extra: map[string]string{"backup_driver": "cinder.backup.drivers.nfs.NFSBackupDriver"}, Wrap: PrivateMountNamespace}},
	}}
	if err := os.MkdirAll(filepath.Join(c.Dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.addProcess(API, BinAPI)
	c.addProcess(VolumeProcess("node1"), BinVolume)
	c.addBackups()
	if err := c.writeConfigs(); err != nil {
		t.Fatal(err)
	}
	p := c.Process(BackupProcess("node1"))
	if filepath.Base(p.Binary) != BinBackup || len(p.Wrap) == 0 {
		t.Errorf("backup process binary %s wrap %v", p.Binary, p.Wrap)
	}
	b, err := os.ReadFile(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"host = node1\n", "backup_posix_path = " + c.BackupPosixPath() + "\n",
		"backup_compression_algorithm = zstd\n", "backup_driver = cinder.backup.drivers.nfs.NFSBackupDriver\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("backup process config lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "enabled_backends") {
		t.Errorf("backup process config has enabled_backends:\n%s", b)
	}
	v, _ := os.ReadFile(c.Process(VolumeProcess("node1")).Config)
	if strings.Contains(string(v), "backup_posix_path") {
		t.Errorf("volume process config has the backup process's options:\n%s", v)
	}
}
