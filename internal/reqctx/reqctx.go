// Package reqctx carries the caller's identity and the request id of one API request
// through a context.Context, across RPC messages, and into every log line.
package reqctx

import (
	"context"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
)

// Context is who asked for an operation and under which request id. It travels in every
// RPC message, so a volume service logs the same req-<uuid> the API answered with.
type Context struct {
	RequestID string   `json:"request_id"`
	UserID    string   `json:"user_id,omitempty"`
	ProjectID string   `json:"project_id,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	IsAdmin   bool     `json:"is_admin,omitempty"`
	// Keystone only: the domains of the user and project, and the roles of a valid
	// X-Service-Token (a service such as Nova acting for the user).
	UserDomainID    string   `json:"user_domain_id,omitempty"`
	ProjectDomainID string   `json:"project_domain_id,omitempty"`
	ServiceRoles    []string `json:"service_roles,omitempty"`
	// AuthToken is the caller's Keystone token (auth_strategy keystone), carried as Cinder's
	// context carries auth_token, so that a volume service reaches Glance as the user. It is
	// never logged.
	AuthToken string `json:"auth_token,omitempty"`
}

type key struct{}

// NewRequestID returns a request id in OpenStack's format, req-<uuid>.
func NewRequestID() string { return "req-" + uuid.NewString() }

// With returns ctx carrying rc.
func With(ctx context.Context, rc Context) context.Context {
	return context.WithValue(ctx, key{}, rc)
}

// From returns the request context stored in ctx; a context without one yields a
// Context with a fresh request id, so that background work is traceable too.
func From(ctx context.Context) Context {
	if rc, ok := ctx.Value(key{}).(Context); ok {
		return rc
	}
	return Context{RequestID: NewRequestID()}
}

// Log returns a logrus entry tagged with the request id, user and project of ctx.
func Log(ctx context.Context, base logrus.FieldLogger) *logrus.Entry {
	rc := From(ctx)
	e := base.WithField("request_id", rc.RequestID)
	if rc.UserID != "" {
		e = e.WithField("user_id", rc.UserID)
	}
	if rc.ProjectID != "" {
		e = e.WithField("project_id", rc.ProjectID)
	}
	return e
}
