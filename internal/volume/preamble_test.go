package volume

import (
	"context"
	"errors"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/scoria/scoria/internal/resource"
)

// TestPreamble: the shared preamble goes on only with an object in the wanted status placed on
// this backend (or anywhere, for anywhere()); a gone or another's object is dropped with one
// log line, and a failed read is an error (the message comes again).
func TestPreamble(t *testing.T) {
	type row struct{ status, host string }
	readErr := errors.New("database unavailable")
	cases := []struct {
		name     string
		row      *row // nil: not found
		err      error
		anywhere bool
		wantOK   bool
		wantErr  bool
		wantLogs int
	}{
		{name: "ours", row: &row{"creating", "node1@file#file"}, wantOK: true},
		{name: "ours without a pool", row: &row{"creating", "node1@file"}, wantOK: true},
		{name: "gone", wantLogs: 1},
		{name: "other status", row: &row{"available", "node1@file#file"}, wantLogs: 1},
		{name: "other backend", row: &row{"creating", "node2@file#file"}, wantLogs: 1},
		{name: "not placed", row: &row{"creating", ""}, wantLogs: 1},
		{name: "other backend, anywhere", row: &row{"creating", "node2@file#file"}, anywhere: true, wantOK: true},
		{name: "read fails", err: readErr, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, hook := test.NewNullLogger()
			o := object[*row]{kind: "thing", backend: "node1@file",
				get: func(context.Context, string) (*row, error) {
					if tc.err != nil {
						return nil, tc.err
					}
					if tc.row == nil {
						return nil, resource.ErrNotFound
					}
					return tc.row, nil
				},
				where: func(_ context.Context, r *row) (string, string, error) { return r.status, r.host, nil },
			}
			if tc.anywhere {
				o = o.anywhere()
			}
			got, ok, err := o.load(context.Background(), logrus.NewEntry(log), "do_thing", "id1", "creating")
			if ok != tc.wantOK || (err != nil) != tc.wantErr || (ok && got != tc.row) {
				t.Fatalf("load = %v, %v, %v; want ok %v, error %v", got, ok, err, tc.wantOK, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, readErr) {
				t.Errorf("error %v does not wrap the read's", err)
			}
			if n := len(hook.AllEntries()); n != tc.wantLogs {
				t.Errorf("%d log lines, want %d", n, tc.wantLogs)
			}
			for _, e := range hook.AllEntries() {
				if e.Data["method"] != "do_thing" {
					t.Errorf("log line %q without the method", e.Message)
				}
			}
		})
	}
}
