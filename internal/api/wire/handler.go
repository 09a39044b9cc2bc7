package wire

import (
	"context"
	"errors"
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
)

// HandlerFunc is an API handler: it writes a success response and returns nil, or returns
// the error its request fails with, without writing anything.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts fn to net/http: an error fn returns is answered with its fault (WriteError).
func Handle(log logrus.FieldLogger, fn HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	}
}

// WriteError answers err in Cinder's fault shape (ToFault). Server errors are logged at
// Error with the request id, client errors at Debug, and an error of a client that went
// away at Info.
func WriteError(w http.ResponseWriter, r *http.Request, log logrus.FieldLogger, err error) {
	f := ToFault(err)
	l := reqctx.Log(r.Context(), log).WithField("status", f.Status)
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		l.WithError(err).Info("client went away")
	case f.Status >= 500:
		l.WithError(err).Error("request failed")
	default:
		l.WithField("reason", f.Message).Debug("request refused")
	}
	WriteJSON(w, f.Status, f.Body())
}
