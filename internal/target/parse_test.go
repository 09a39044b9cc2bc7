package target

import (
	"os"
	"testing"
)

const showOutput = `Target 1: iqn.2010-10.org.openstack:volume-a
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store type: null
            Backing store path: None
        LUN: 1
            Type: disk
            Size: 1074 MB, Block size: 512
            Backing store type: rdwr
            Backing store path: /srv/volume-a
    Account information:
        user1
        out1 (outgoing)
    ACL information:
        ALL
Target 12: iqn.2010-10.org.openstack:volume-b
    System information:
        Driver: iscsi
    LUN information:
        LUN: 0
            Backing store path: None
        LUN: 1
            Type: disk
            Backing store type: sheepdog
            Backing store path: tcp:127.0.0.1:7000:volume-b
    Account information:
    ACL information:
        ALL
`

func TestParseShow(t *testing.T) {
	got, err := parseShow(showOutput)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TID != 1 || got[0].IQN != "iqn.2010-10.org.openstack:volume-a" || got[0].Backing[1] != "/srv/volume-a" ||
		len(got[0].Accounts) != 2 || got[0].Accounts[0] != "user1" || got[0].Accounts[1] != "out1" ||
		got[0].BSType[1] != "rdwr" || got[1].TID != 12 || len(got[1].Accounts) != 0 ||
		got[1].Backing[1] != "tcp:127.0.0.1:7000:volume-b" || got[1].BSType[1] != "sheepdog" {
		t.Errorf("parseShow = %+v", got)
	}
	for _, bad := range []string{"Target x: iqn\n", "Target 1 iqn\n", "Target 1: i\n    LUN information:\n        LUN: z\n"} {
		if _, err := parseShow(bad); err == nil {
			t.Errorf("parseShow(%q): no error", bad)
		}
	}
	if got, err := parseShow(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestPersistentFile(t *testing.T) {
	tg := &TGT{Config: Config{Prefix: "iqn.x:", VolumesDir: t.TempDir()}}
	for _, s := range []targetSpec{
		{IQN: "iqn.x:volume-1", Backing: "/dev/vg/volume-1", User: "u", Password: "p", WriteCache: true},
		{IQN: "iqn.x:volume-2", Backing: "/srv/volume-2"},
		{IQN: "iqn.x:volume-3", Backing: "tcp:127.0.0.1:7000:volume-3", BSType: "sheepdog", User: "u", Password: "p"},
	} {
		if err := tg.writeFile(&s); err != nil {
			t.Fatal(err)
		}
		got, err := tg.readFile(s.IQN)
		if err != nil || *got != s {
			t.Errorf("read back %+v, %v; want %+v", got, err, s)
		}
	}
	if _, err := tg.readFile("iqn.x:volume-9"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(tg.filePath("iqn.x:volume-4"), []byte("<target iqn.x:volume-5>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.readFile("iqn.x:volume-4"); err == nil {
		t.Error("a file naming another target is accepted")
	}
}
