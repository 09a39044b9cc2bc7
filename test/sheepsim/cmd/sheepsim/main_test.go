package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandPrintsAddressAndServes builds the simulator command, starts it on a free port
// and checks the "listening on ADDR" line names an address that answers the sheep protocol,
// formatted or waiting for a format as the flag says.
func TestCommandPrintsAddressAndServes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sheepsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	tests := []struct {
		name string
		args []string
		want uint32 // STAT_SHEEP result
	}{
		{"formatted", nil, 0x00},
		{"unformatted", []string{"-unformatted"}, 0x16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, tt.args...)...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("read the first line: %v (%q)", err, line)
			}
			addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
			if !ok {
				t.Fatalf("first line %q, want \"listening on ADDR\"", line)
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := make([]byte, 48)
			req[0], req[1] = 0x0a, 0x86 // STAT_SHEEP, internal protocol version
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			rsp := make([]byte, 48)
			if _, err := io.ReadFull(c, rsp); err != nil {
				t.Fatal(err)
			}
			if got := binary.LittleEndian.Uint32(rsp[16:]); got != tt.want {
				t.Fatalf("STAT_SHEEP result %#x, want %#x", got, tt.want)
			}
		})
	}
}
