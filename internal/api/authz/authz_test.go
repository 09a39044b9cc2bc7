package authz

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// adminRule is admin_api in Cinder's defaults: a member is denied, an admin allowed.
const adminRule = "volume_extension:services:index"

func TestDecideOn(t *testing.T) {
	member := reqctx.Context{UserID: "u1", ProjectID: "p1", Roles: []string{"member"}}
	admin := reqctx.Context{UserID: "a", ProjectID: "admin", Roles: []string{"admin"}, IsAdmin: true}
	tests := []struct {
		name        string
		caller      reqctx.Context
		pending     *Pending
		kind, id    string
		wantStatus  int  // a *wire.Fault's status; 0 for none
		wantNF      bool // a *resource.NotFoundError
		wantDecided bool
	}{
		{name: "nothing pending", caller: member, kind: "Message", id: "m1"},
		{name: "another kind", caller: member, pending: &Pending{Rule: adminRule, Kind: "Volume"}, kind: "Message", id: "m1"},
		{name: "another id", caller: member, pending: &Pending{Rule: adminRule, Kind: "Message", ID: "m2"}, kind: "Message", id: "m1"},
		{name: "rule denied", caller: member, pending: &Pending{Rule: adminRule, Kind: "Message"}, kind: "Message", id: "m1",
			wantStatus: http.StatusForbidden, wantDecided: true},
		{name: "gate denied is not found", caller: member, pending: &Pending{Rule: adminRule, Gate: adminRule, Kind: "Volume", ID: "v1"},
			kind: "Volume", id: "v1", wantNF: true, wantDecided: true},
		{name: "admin allowed", caller: admin, pending: &Pending{Rule: adminRule, Gate: adminRule, Kind: "Volume", ID: "v1"},
			kind: "Volume", id: "v1", wantDecided: true},
		{name: "decided once", caller: member, pending: &Pending{Rule: adminRule, Kind: "Message", Decided: true}, kind: "Message", id: "m1",
			wantDecided: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := reqctx.With(context.Background(), tc.caller)
			if tc.pending != nil {
				ctx = WithPending(ctx, tc.pending)
			}
			err := DecideOn(ctx, tc.kind, tc.id, tc.caller.ProjectID)
			var f *wire.Fault
			var nf *resource.NotFoundError
			switch {
			case tc.wantStatus != 0:
				if !errors.As(err, &f) || f.Status != tc.wantStatus {
					t.Fatalf("err = %v, want a %d fault", err, tc.wantStatus)
				}
			case tc.wantNF:
				if !errors.As(err, &nf) || nf.Kind != tc.kind || nf.ID != tc.id {
					t.Fatalf("err = %v, want %s %s not found", err, tc.kind, tc.id)
				}
			case err != nil:
				t.Fatalf("err = %v, want none", err)
			}
			if tc.pending != nil && tc.pending.Decided != tc.wantDecided {
				t.Errorf("Decided = %v, want %v", tc.pending.Decided, tc.wantDecided)
			}
		})
	}
}
