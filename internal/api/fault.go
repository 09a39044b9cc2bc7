package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// fault is an error answer in Cinder's shape: {"<name>": {"code": N, "message": "…"}}.
type fault struct {
	status  int
	message string
}

func (f *fault) Error() string { return fmt.Sprintf("%d %s", f.status, f.message) }

func newFault(status int, format string, args ...any) *fault {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &fault{status: status, message: msg}
}

func badRequest(format string, args ...any) *fault {
	return newFault(http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) *fault {
	return newFault(http.StatusNotFound, format, args...)
}

// invalidInput is Cinder's InvalidInput: a 400 with "Invalid input received: " before the reason.
func invalidInput(format string, args ...any) *fault {
	return badRequest("Invalid input received: "+format, args...)
}

// Messages Cinder words the same way every time.
const (
	msgServerError      = "The server has either erred or is incapable of performing the requested operation."
	msgResourceNotFound = "The resource could not be found."
	msgMalformedBody    = "Malformed request body"
	msgMalformedURL     = "Malformed request url"
	msgTooLarge         = "Request is too large."
	msgMethodNotAllowed = "The method specified is not allowed for this resource."
)

// faultNames are Cinder's top-level keys of an error body; other codes are "computeFault".
var faultNames = map[int]string{
	http.StatusBadRequest:            "badRequest",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "itemNotFound",
	http.StatusMethodNotAllowed:      "badMethod",
	http.StatusConflict:              "conflictingRequest",
	http.StatusRequestEntityTooLarge: "overLimit",
	http.StatusUnsupportedMediaType:  "badMediaType",
	http.StatusNotImplemented:        "notImplemented",
	http.StatusServiceUnavailable:    "serviceUnavailable",
}

func (f *fault) body() map[string]any {
	name, ok := faultNames[f.status]
	if !ok {
		name = "computeFault"
	}
	return map[string]any{name: map[string]any{"code": f.status, "message": f.message}}
}

// actionError names the API action an error happened in, so that toFault can word the
// message the way Cinder does for that action.
type actionError struct {
	action string // "delete", "force-delete"
	err    error
}

func (e *actionError) Error() string { return e.action + ": " + e.err.Error() }
func (e *actionError) Unwrap() error { return e.err }

// Cinder's answer to a delete that the volume's state forbids.
const (
	deleteStateTail      = "must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."
	msgDeleteState       = "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and " + deleteStateTail
	msgForceDeleteState  = "Invalid volume: Volume " + deleteStateTail
	msgVolumeStateChange = "Invalid volume: Volume %s is in status %s, which does not allow this operation; it must be %s."
)

// toFault is the one place where errors become HTTP answers. Anything it does not know is a
// 500, whose details go to the log and not to the client.
func toFault(err error) *fault {
	var (
		f   *fault
		nf  *resource.NotFoundError
		ise *resource.InvalidStateError
		ae  *actionError
		mbe *http.MaxBytesError
		ue  *unavailableError
		oq  *resource.OverQuotaError
	)
	switch {
	case errors.As(err, &f):
		return f
	case errors.As(err, &ue):
		return newFault(http.StatusServiceUnavailable, "%s", ue.reason)
	case errors.As(err, &oq):
		// Cinder answers every quota refusal (VolumeSizeExceedsAvailableQuota,
		// VolumeLimitExceeded, SnapshotLimitExceeded, …) with 413 overLimit.
		return newFault(http.StatusRequestEntityTooLarge, "%s", oq.Error())
	case errors.As(err, &mbe):
		return newFault(http.StatusRequestEntityTooLarge, msgTooLarge)
	case errors.As(err, &nf):
		return notFound("%s %s could not be found.", kindName(nf.Kind), nf.ID)
	case errors.Is(err, resource.ErrNotFound):
		return notFound(msgResourceNotFound)
	case errors.As(err, &ise):
		if errors.As(err, &ae) {
			switch ae.action {
			case "delete":
				return badRequest(msgDeleteState)
			case "force-delete":
				return badRequest(msgForceDeleteState)
			}
		}
		return badRequest(msgVolumeStateChange, ise.ID, ise.Status, strings.Join(ise.Want, " or "))
	case errors.Is(err, resource.ErrInvalidState):
		return badRequest("Invalid volume: %v", err)
	case errors.Is(err, resource.ErrConflict):
		return newFault(http.StatusConflict, "%v", err)
	}
	return newFault(http.StatusInternalServerError, msgServerError)
}

// notFoundAs makes a bare "not found" from the store name what was looked for, as Cinder's
// VolumeNotFound does; other errors pass unchanged.
func notFoundAs(err error, kind, id string) error {
	var nf *resource.NotFoundError
	if errors.Is(err, resource.ErrNotFound) && !errors.As(err, &nf) {
		return &resource.NotFoundError{Kind: kind, ID: id}
	}
	return err
}

// kindName words an object kind as Cinder's messages do ("VolumeType" → "Volume type").
func kindName(kind string) string {
	var b strings.Builder
	for i, r := range kind {
		switch {
		case i == 0:
			b.WriteString(strings.ToUpper(string(r)))
		case r >= 'A' && r <= 'Z':
			b.WriteByte(' ')
			b.WriteString(strings.ToLower(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeError answers err in Cinder's fault shape. Server errors are logged with the request
// id, client errors at debug level.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	f := toFault(err)
	log := reqctx.Log(r.Context(), s.log).WithField("status", f.status)
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		log.WithError(err).Info("client went away")
	case f.status >= 500:
		log.WithError(err).Error("request failed")
	default:
		log.WithField("reason", f.message).Debug("request refused")
	}
	writeJSON(w, f.status, f.body())
}
