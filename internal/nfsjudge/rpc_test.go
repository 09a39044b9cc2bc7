package nfsjudge

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func words(vs ...uint32) []byte {
	var w xdrWriter
	for _, v := range vs {
		w.u32(v)
	}
	return w.Bytes()
}

// TestCallMessage checks a CALL's layout word by word against RFC 5531: AUTH_SYS uid 0 gid 0
// with a padded machine name, a null verifier, then the arguments.
func TestCallMessage(t *testing.T) {
	msg := callMessage(7, mountProgram, mountVersion, mountProcMnt, words(9))
	r := &xdrReader{b: msg}
	head := []uint32{r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()}
	want := []uint32{7, msgCall, 2, 100005, 3, 1, authSys}
	for i := range want {
		if head[i] != want[i] {
			t.Fatalf("header word %d = %d, want %d (header %v)", i, head[i], want[i], head)
		}
	}
	cred := &xdrReader{b: r.opaque(400)}
	cred.u32() // stamp
	if name := string(cred.opaque(255)); name != "scoria-nfsjudge" {
		t.Errorf("machine name %q", name)
	}
	if uid, gid, ngids := cred.u32(), cred.u32(), cred.u32(); uid != 0 || gid != 0 || ngids != 0 || len(cred.b) != 0 || cred.err != nil {
		t.Errorf("credentials uid %d gid %d gids %d, %d bytes left, %v", uid, gid, ngids, len(cred.b), cred.err)
	}
	if flavor, body := r.u32(), r.opaque(400); flavor != authNone || len(body) != 0 {
		t.Errorf("verifier %d %x", flavor, body)
	}
	if args := r.u32(); args != 9 || len(r.b) != 0 || r.err != nil {
		t.Errorf("args %d, %d bytes left, %v", args, len(r.b), r.err)
	}
	if len(msg)%4 != 0 {
		t.Errorf("message of %d bytes is not XDR-aligned", len(msg))
	}
}

func TestOpaquePadding(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abc", "abcd", "abcde"} {
		var w xdrWriter
		w.opaque([]byte(s))
		w.u32(0xdeadbeef)
		if w.Len() != 4+(len(s)+3)/4*4+4 {
			t.Errorf("%q: %d bytes", s, w.Len())
		}
		r := &xdrReader{b: w.Bytes()}
		if got := string(r.opaque(64)); got != s || r.u32() != 0xdeadbeef || r.err != nil {
			t.Errorf("%q came back as %q (%v)", s, got, r.err)
		}
	}
}

func TestXDRReaderBounds(t *testing.T) {
	r := &xdrReader{b: words(100)}
	if b := r.opaque(64); b != nil || r.err == nil || !strings.Contains(r.err.Error(), "at most 64") {
		t.Errorf("an opaque of 100 bytes read as %x, error %v", b, r.err)
	}
	r = &xdrReader{b: words(8, 1)}
	if r.opaque(64); r.err == nil || !strings.Contains(r.err.Error(), "too short") {
		t.Errorf("an opaque longer than the reply: error %v", r.err)
	}
	if r.u64() != 0 {
		t.Error("a read after an error returned data")
	}
}

func frag(last bool, b []byte) []byte {
	h := uint32(len(b))
	if last {
		h |= 1 << 31
	}
	return append(binary.BigEndian.AppendUint32(nil, h), b...)
}

func TestReadRecord(t *testing.T) {
	tests := []struct {
		name    string
		stream  []byte
		want    []byte
		wantErr string
	}{
		{name: "one fragment", stream: frag(true, []byte("abcd")), want: []byte("abcd")},
		{name: "three fragments", stream: bytes.Join([][]byte{frag(false, []byte("ab")), frag(false, nil), frag(true, []byte("cd"))}, nil), want: []byte("abcd")},
		{name: "cut short", stream: frag(true, []byte("abcd"))[:6], wantErr: "unexpected EOF"},
		{name: "too large", stream: binary.BigEndian.AppendUint32(nil, 1<<31|maxRecord+1), wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readRecord(bytes.NewReader(tt.stream))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseReplyHeader(t *testing.T) {
	tests := []struct {
		name    string
		reply   []byte // after the xid
		wantErr string
		rest    int // bytes left for the results
	}{
		{name: "success", reply: words(msgReply, 0, authNone, 0, 0, 42), rest: 4},
		{name: "verifier with a body", reply: words(msgReply, 0, authSys, 4, 1, 0), rest: 0},
		{name: "program unavailable", reply: words(msgReply, 0, authNone, 0, 1), wantErr: "PROG_UNAVAIL"},
		{name: "garbage args", reply: words(msgReply, 0, authNone, 0, 4), wantErr: "GARBAGE_ARGS"},
		{name: "rpc mismatch", reply: words(msgReply, 1, 0, 2, 2), wantErr: "RPC_MISMATCH (server speaks 2 to 2)"},
		{name: "auth error", reply: words(msgReply, 1, 1, 5), wantErr: "AUTH_ERROR 5"},
		{name: "a call, not a reply", reply: words(msgCall, 0), wantErr: "want a reply"},
		{name: "truncated", reply: words(msgReply, 0, authNone), wantErr: "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &xdrReader{b: tt.reply}
			err := parseReplyHeader(r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(r.b) != tt.rest {
				t.Fatalf("error %v, %d bytes left, want %d", err, len(r.b), tt.rest)
			}
		})
	}
}

func TestStatName(t *testing.T) {
	if got := statName(mountStat, 13); got != "MNT3ERR_ACCES(13)" {
		t.Errorf("got %q", got)
	}
	if got := statName(nfsStat, 99999); got != "status 99999" {
		t.Errorf("got %q", got)
	}
}
