package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestMark(t *testing.T) {
	base := fmt.Errorf("open volume-x: %w", fs.ErrNotExist)
	tests := []struct {
		name    string
		err     error
		kind    error
		wantMsg string
		wantIs  []error
		wantNot []error
		wantNil bool
	}{
		{name: "keeps the message and both chains", err: base, kind: ErrNotFound,
			wantMsg: "open volume-x: file does not exist", wantIs: []error{ErrNotFound, fs.ErrNotExist}, wantNot: []error{ErrNoSpace, ErrBusy}},
		{name: "wrapped again", err: fmt.Errorf("create: %w", Mark(base, ErrNoSpace)), kind: ErrUnavailable,
			wantMsg: "create: open volume-x: file does not exist", wantIs: []error{ErrNoSpace, ErrUnavailable, fs.ErrNotExist}, wantNot: []error{ErrNotFound}},
		{name: "nil stays nil", err: nil, kind: ErrBusy, wantNil: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Mark(tc.err, tc.kind)
			if tc.wantNil {
				if got != nil {
					t.Fatalf("Mark(nil) = %v", got)
				}
				return
			}
			if got.Error() != tc.wantMsg {
				t.Errorf("message %q, want %q", got.Error(), tc.wantMsg)
			}
			for _, e := range tc.wantIs {
				if !errors.Is(got, e) {
					t.Errorf("errors.Is(%v, %v) = false", got, e)
				}
			}
			for _, e := range tc.wantNot {
				if errors.Is(got, e) {
					t.Errorf("errors.Is(%v, %v) = true", got, e)
				}
			}
		})
	}
}
