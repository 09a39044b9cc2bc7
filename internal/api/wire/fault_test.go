package wire

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// TestToFault: the one mapping of errors to Cinder's faults, case by case, wrapped as the
// store and handlers wrap them.
func TestToFault(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"fault", BadRequest("bad"), http.StatusBadRequest, "bad"},
		{"backup refused", fmt.Errorf("create backup: %w", &resource.BackupRefusedError{Kind: "Backup", Reason: "Incremental backups exist for this backup."}),
			http.StatusBadRequest, "Invalid backup: Incremental backups exist for this backup."},
		{"volume refused for a backup", &resource.BackupRefusedError{Kind: "Volume", Reason: "Volume to be backed up must be available or in-use, but the current status is \"error\"."},
			http.StatusBadRequest, "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"error\"."},
		{"not found", fmt.Errorf("get: %w", &resource.NotFoundError{Kind: "Volume", ID: "x"}), http.StatusNotFound, "Volume x could not be found."},
		{"conflict", fmt.Errorf("x: %w", resource.ErrConflict), http.StatusConflict, "x: " + resource.ErrConflict.Error()},
		{"unknown", errors.New("boom"), http.StatusInternalServerError, MsgServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ToFault(tt.err)
			if f.Status != tt.code || f.Message != tt.msg {
				t.Errorf("ToFault = %d %q, want %d %q", f.Status, f.Message, tt.code, tt.msg)
			}
		})
	}
}
