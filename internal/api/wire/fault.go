package wire

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// Fault is an error answer in Cinder's shape: {"<name>": {"code": N, "message": "…"}}.
type Fault struct {
	Status  int
	Message string
}

func (f *Fault) Error() string { return fmt.Sprintf("%d %s", f.Status, f.Message) }

// New is a fault of status; the message is format, formatted with args when there are any.
func New(status int, format string, args ...any) *Fault {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Fault{Status: status, Message: msg}
}

// BadRequest is a 400 badRequest fault.
func BadRequest(format string, args ...any) *Fault {
	return New(http.StatusBadRequest, format, args...)
}

// NotFound is a 404 itemNotFound fault.
func NotFound(format string, args ...any) *Fault {
	return New(http.StatusNotFound, format, args...)
}

// InvalidInput is Cinder's InvalidInput: a 400 with "Invalid input received: " before the reason.
func InvalidInput(format string, args ...any) *Fault {
	return BadRequest("Invalid input received: "+format, args...)
}

// Messages Cinder words the same way every time.
const (
	MsgServerError      = "The server has either erred or is incapable of performing the requested operation."
	MsgResourceNotFound = "The resource could not be found."
	MsgMalformedBody    = "Malformed request body"
	MsgMalformedURL     = "Malformed request url"
	MsgTooLarge         = "Request is too large."
	MsgMethodNotAllowed = "The method specified is not allowed for this resource."
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

// FaultName is the top-level key of Cinder's error body for status ("itemNotFound" for 404,
// "computeFault" for a code without a name of its own).
func FaultName(status int) string {
	if name, ok := faultNames[status]; ok {
		return name
	}
	return "computeFault"
}

// Body is f as Cinder's error body.
func (f *Fault) Body() map[string]any {
	return map[string]any{FaultName(f.Status): map[string]any{"code": f.Status, "message": f.Message}}
}

// ActionError names the API action an error happened in, so that toFault can word the
// message the way Cinder does for that action.
type ActionError struct {
	Action string // "delete", "force-delete"
	Err    error
}

func (e *ActionError) Error() string { return e.Action + ": " + e.Err.Error() }
func (e *ActionError) Unwrap() error { return e.Err }

// Cinder's answer to a delete that the volume's state forbids.
const (
	deleteStateTail      = "must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."
	MsgDeleteState       = "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and " + deleteStateTail
	MsgForceDeleteState  = "Invalid volume: Volume " + deleteStateTail
	msgVolumeStateChange = "Invalid volume: Volume %s is in status %s, which does not allow this operation; it must be %s."
)

// ToFault is the one place where errors become HTTP answers. Anything it does not know is a
// 500, whose details go to the log and not to the client.
func ToFault(err error) *Fault {
	var (
		f   *Fault
		nf  *resource.NotFoundError
		ise *resource.InvalidStateError
		ae  *ActionError
		mbe *http.MaxBytesError
		ue  *UnavailableError
		oq  *resource.OverQuotaError
		br  *resource.BackupRefusedError
	)
	switch {
	case errors.As(err, &f):
		return f
	case errors.As(err, &br):
		// A backup operation refused for the state of its backup, volume or snapshot, in
		// Cinder's words ("Invalid backup: …", "Invalid volume: …").
		return BadRequest("%s", br.Error())
	case errors.As(err, &ue):
		return New(http.StatusServiceUnavailable, "%s", ue.Reason)
	case errors.As(err, &oq):
		// Cinder answers every quota refusal (VolumeSizeExceedsAvailableQuota,
		// VolumeLimitExceeded, SnapshotLimitExceeded, …) with 413 overLimit.
		return New(http.StatusRequestEntityTooLarge, "%s", oq.Error())
	case errors.As(err, &mbe):
		return New(http.StatusRequestEntityTooLarge, MsgTooLarge)
	case errors.As(err, &nf):
		return NotFound("%s %s could not be found.", KindName(nf.Kind), nf.ID)
	case errors.Is(err, resource.ErrNotFound):
		return NotFound(MsgResourceNotFound)
	case errors.As(err, &ise):
		if errors.As(err, &ae) {
			switch ae.Action {
			case "delete":
				return BadRequest(MsgDeleteState)
			case "force-delete":
				return BadRequest(MsgForceDeleteState)
			}
		}
		return BadRequest(msgVolumeStateChange, ise.ID, ise.Status, strings.Join(ise.Want, " or "))
	case errors.Is(err, resource.ErrInvalidState):
		return BadRequest("Invalid volume: %v", err)
	case errors.Is(err, resource.ErrConflict):
		return New(http.StatusConflict, "%v", err)
	}
	return New(http.StatusInternalServerError, MsgServerError)
}

// NotFoundAs makes a bare "not found" from the store name what was looked for, as Cinder's
// VolumeNotFound does; other errors pass unchanged.
func NotFoundAs(err error, kind, id string) error {
	var nf *resource.NotFoundError
	if errors.Is(err, resource.ErrNotFound) && !errors.As(err, &nf) {
		return &resource.NotFoundError{Kind: kind, ID: id}
	}
	return err
}

// KindName words an object kind as Cinder's messages do ("VolumeType" → "Volume type").
func KindName(kind string) string {
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

// UnavailableError is a service the API depends on that does not answer: a 503 that says
// which one and what to check.
type UnavailableError struct {
	Reason string
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }
