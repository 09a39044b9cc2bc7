package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
)

// nested is a body whose volume metadata is n arrays inside each other.
func nested(n int) string {
	return `{"volume": {"size": 1, "metadata": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`
}

// nestedOfSize is nested, as deep as fits in size bytes.
func nestedOfSize(size int) string {
	return nested((size - len(nested(0))) / 2)
}

// TestBadBodiesAnsweredBriefly: through the handler, a deep body is a 400 naming the limit,
// and a huge invalid value is quoted cut, not whole (twice) as before.
func TestBadBodiesAnsweredBriefly(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, body, message string
	}{
		{"deep", nestedOfSize(wire.MaxBodyBytes - 100), "Malformed request body: JSON nested deeper than 32 levels"},
		{"long metadata value", `{"volume": {"size": 1, "metadata": {"k": "` + strings.Repeat("v", 300000) + `"}}}`,
			"Invalid input for field/attribute k. Value: " + strings.Repeat("v", wire.MaxEcho) + wire.EchoCut + ". '" + strings.Repeat("v", wire.MaxEcho-1) + wire.EchoCut + " is too long"},
		{"long bad key", `{"volume": {"size": 1, "metadata": {"` + strings.Repeat("!", 300000) + `": "v"}}}`, ""},
		{"wide list", `{"volume": {"size": 1, "metadata": [` + strings.Repeat(`1, `, 300000) + `1]}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: tc.body})
			wantStatus(t, rec, http.StatusBadRequest)
			if rec.Body.Len() > 4*wire.MaxEcho {
				t.Errorf("answer of %d bytes to a body of %d, want at most %d", rec.Body.Len(), len(tc.body), 4*wire.MaxEcho)
			}
			if tc.message != "" {
				wantFault(t, rec, http.StatusBadRequest, "badRequest", tc.message)
			}
		})
	}
	if n := len(e.volumes()); n != 0 {
		t.Errorf("%d volumes after bad bodies, want none", n)
	}
}

// BenchmarkDecodeNested reads nested bodies of growing size through the create handler: the
// time per body must grow no faster than its size (before the depth cap, 40 KB took a
// second and 200 KB thirty).
func BenchmarkDecodeNested(b *testing.B) {
	e := newEnv(b)
	for _, size := range []int{40 << 10, 200 << 10, wire.MaxBodyBytes - 100} {
		body := nestedOfSize(size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				if rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: body}); rec.Code != http.StatusBadRequest {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
