package glance

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors; every error of a call wraps one of them (test with errors.Is).
var (
	// ErrNotFound: 404, the image does not exist or is not visible (Cinder's ImageNotFound).
	ErrNotFound = errors.New("image not found")
	// ErrForbidden: 401 or 403 (Cinder's ImageNotAuthorized).
	ErrForbidden = errors.New("not authorized for the image")
	// ErrInvalid: 400, 415 or 422 (Cinder's Invalid).
	ErrInvalid = errors.New("invalid image request")
	// ErrConflict: 409, e.g. uploading to an image that is not queued or deleting a
	// protected one.
	ErrConflict = errors.New("image conflict")
	// ErrLimitExceeded: 413, the image is over a quota or a size limit (Cinder's
	// ImageLimitExceeded).
	ErrLimitExceeded = errors.New("image limit exceeded")
	// ErrUnavailable: Glance could not be reached or answered 502/503/504 on every attempt
	// (Cinder's GlanceConnectionFailed), or answered another 5xx.
	ErrUnavailable = errors.New("image service unavailable")
	// ErrNoEndpoint: neither glance_api_servers nor the catalog name Glance.
	ErrNoEndpoint = errors.New("no image service endpoint")
	// ErrNoData: the image has no data (Glance answered 204 to a download).
	ErrNoData = errors.New("image has no data")
	// ErrChecksum: the downloaded data does not match the image's hash, checksum or size.
	ErrChecksum = errors.New("image data does not match its checksum")
	// ErrUnexpected: any other answer of Glance's.
	ErrUnexpected = errors.New("unexpected answer from the image service")
)

// Error is an answer of Glance's that is not a success.
type Error struct {
	Op      string // what the client was doing, e.g. "show image 1234"
	Status  int    // the HTTP status, 0 when no answer came
	Message string // Glance's explanation, when it gave one
	Kind    error  // one of the sentinel errors
	Err     error  // the transport error, when no answer came
}

func (e *Error) Error() string {
	switch {
	case e.Status != 0 && e.Message != "":
		return fmt.Sprintf("glance: %s: %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Message)
	case e.Status != 0:
		return fmt.Sprintf("glance: %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	case e.Err != nil:
		return fmt.Sprintf("glance: %s: %v: %v", e.Op, e.Kind, e.Err)
	}
	return fmt.Sprintf("glance: %s: %v", e.Op, e.Kind)
}

// Unwrap gives errors.Is both the sentinel and the transport error.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// kindOf maps an HTTP status to a sentinel, as Cinder translates glanceclient's exceptions.
func kindOf(status int) error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrForbidden
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return ErrInvalid
	case http.StatusConflict:
		return ErrConflict
	case http.StatusRequestEntityTooLarge:
		return ErrLimitExceeded
	}
	if status >= 500 {
		return ErrUnavailable
	}
	return ErrUnexpected
}

// retryable reports the statuses tried again: Glance (or a proxy before it) unavailable.
// Cinder retries glanceclient's ServiceUnavailable (503) and connection errors; 502 and 504
// are the same condition seen through a load balancer. A 500 is not: Glance failed on this
// request and would fail again.
func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}
