package wire

import (
	"context"
	"net/http"
	"testing"
)

// FuzzDecodeJSON: the body decoder reads each token once, and what Cinder's messages quote of a
// decoded value stays within maxEcho.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"volume": {"size": 1}}`, `[1, 2.5e3, "x", null, true]`, `{"a": 1, "a": 2}`, nested(40), `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		d := &bodyDecoder{ctx: ctx}
		v, err := d.decode(data)
		// Each token is read once: a token takes at least a byte, and the end is one more look.
		if d.tokens > len(data)+1 {
			t.Fatalf("%d tokens read from %d bytes", d.tokens, len(data))
		}
		if err != nil {
			return
		}
		for name, s := range map[string]string{"repr": PyRepr(v), "str": pyStr(v)} {
			if len(s) > MaxEcho+len(EchoCut) {
				t.Fatalf("%s of a decoded value is %d bytes, more than %d", name, len(s), MaxEcho+len(EchoCut))
			}
		}
		if f := SchemaError("field", v, "msg"); f.Status != http.StatusBadRequest || len(f.Message) > 3*MaxEcho {
			t.Fatalf("schema error %d of %d bytes", f.Status, len(f.Message))
		}
	})
}
