package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServerURLs(t *testing.T) {
	s := Servers{MySQLURL: "mysql+pymysql://root:pw@10.0.0.5:3307/ignored", RabbitURL: "rabbit://guest:guest@127.0.0.1:5672/"}
	conn, err := s.connectionURL("scoria_e2e_1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "mysql+pymysql://root:pw@10.0.0.5:3307/scoria_e2e_1?charset=utf8"; conn != want {
		t.Errorf("connectionURL = %q, want %q", conn, want)
	}
	tr, err := s.transportURL("scoria-e2e-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "rabbit://guest:guest@127.0.0.1:5672/scoria-e2e-1"; tr != want {
		t.Errorf("transportURL = %q, want %q", tr, want)
	}
	cfg, err := parseMySQL(s.MySQLURL)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "10.0.0.5:3307" || cfg.User != "root" || cfg.Passwd != "pw" || cfg.DBName != "" {
		t.Errorf("parseMySQL = addr %q user %q pw %q db %q", cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName)
	}
	if _, err := parseMySQL("postgres://x@y/"); err == nil {
		t.Error("parseMySQL accepted a postgres URL")
	}
}

func TestHostOfVolume(t *testing.T) {
	for in, want := range map[string]string{"node1@file1#file1": "node1", "node2@file1": "node2", "": ""} {
		if got := HostOfVolume(in); got != want {
			t.Errorf("HostOfVolume(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	var lines []string
	for i := range 100 {
		lines = append(lines, strings.Repeat("x", i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := tail(path, 3)
	if want := strings.Join(lines[97:], "\n"); got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if got := tail(filepath.Join(t.TempDir(), "missing"), 3); !strings.Contains(got, "no such file") {
		t.Errorf("tail of a missing file = %q", got)
	}
}

func TestPollSaysWhatItSawLast(t *testing.T) {
	err := Poll(context.Background(), 50*time.Millisecond, 5*time.Millisecond, func() (bool, string, error) {
		return false, "status creating", nil
	})
	if err == nil || !strings.Contains(err.Error(), "last saw: status creating") {
		t.Fatalf("Poll = %v, want a timeout naming the last status", err)
	}
	boom := errors.New("boom")
	if err := Poll(context.Background(), time.Second, time.Millisecond, func() (bool, string, error) { return false, "", boom }); !errors.Is(err, boom) {
		t.Fatalf("Poll = %v, want boom", err)
	}
	if err := Poll(context.Background(), time.Second, time.Millisecond, func() (bool, string, error) { return true, "", nil }); err != nil {
		t.Fatalf("Poll = %v", err)
	}
}
