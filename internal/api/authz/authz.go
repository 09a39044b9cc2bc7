// Package authz decides Cinder's policy rules for one API request: the server's enforcer
// carried in the request's context (Cinder's defaults without one), the caller's
// credentials as policy check strings see them, a rule decided on a target project
// (Authorize, and Allowed for the rules that only decide what a view shows), and the rule an
// endpoint on one object leaves pending until its handler loads that object (Pending,
// DecideOn). The API's router sets the enforcer and the pending rule; every area's handlers
// decide through this package, so an area in a package of its own decides as the others do.
package authz

import (
	"context"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// enforcerKey carries the server's policy enforcer in a request's context, so that the
// authorize functions need only the request.
type enforcerKey struct{}

// WithEnforcer returns ctx carrying e, the enforcer that decides the request's rules.
func WithEnforcer(ctx context.Context, e *policy.Enforcer) context.Context {
	return context.WithValue(ctx, enforcerKey{}, e)
}

// Credentials is what policy check strings may test of the caller.
func Credentials(rc reqctx.Context) policy.Credentials {
	isAdmin := "False"
	if rc.IsAdmin {
		isAdmin = "True"
	}
	return policy.Credentials{Roles: rc.Roles, Values: map[string]string{
		"user_id": rc.UserID, "project_id": rc.ProjectID, "domain_id": rc.ProjectDomainID,
		"user_domain_id": rc.UserDomainID, "project_domain_id": rc.ProjectDomainID,
		"is_admin": isAdmin, "is_admin_project": "True",
	}}
}

// Authorize decides rule for the caller on a resource of project (Cinder's target
// project_id): the server's policy (Cinder's defaults and the operator's policy file). A
// denial is Cinder's 403.
func Authorize(ctx context.Context, rule, project string) *wire.Fault {
	if Allowed(ctx, rule, project) {
		return nil
	}
	return wire.New(http.StatusForbidden, "Policy doesn't allow %s to be performed.", rule)
}

// AuthorizeAdmin decides a rule whose target is the caller's own project, as Cinder's admin
// APIs do (admin_api by default).
func AuthorizeAdmin(r *http.Request, rule string) *wire.Fault {
	return Authorize(r.Context(), rule, reqctx.From(r.Context()).ProjectID)
}

// Allowed decides rule as Authorize does, without the fault: Cinder's
// context.authorize(rule, fatal=False), which decides what a view shows.
func Allowed(ctx context.Context, rule, project string) bool {
	rc := reqctx.From(ctx)
	e, _ := ctx.Value(enforcerKey{}).(*policy.Enforcer)
	if e == nil {
		e = defaultEnforcer
	}
	return e.Allowed(rule, policy.Target{"project_id": project, "user_id": rc.UserID, "domain_id": rc.ProjectDomainID}, Credentials(rc))
}

// defaultEnforcer holds Cinder's defaults, for requests that did not pass the server's
// middleware (tests calling handlers directly).
var defaultEnforcer = mustDefaults()

func mustDefaults() *policy.Enforcer {
	e, err := policy.New(policy.Options{})
	if err != nil {
		panic(err) // the defaults are constants: a parse error is a programming error
	}
	return e
}

// Defaults is the enforcer of Cinder's default rules, used when the server is given none.
func Defaults() *policy.Enforcer { return defaultEnforcer }

// Pending is an object endpoint's rule, left undecided until the handler loads the object it
// acts on, so that the rule's target is the object's project.
type Pending struct {
	Rule    string
	Gate    string // a rule decided first, whose denial is the object's 404 (volume:get)
	Kind    string // the object's kind (Volume, Snapshot, …)
	ID      string // the object's id; "" for the first object of Kind the handler loads
	Decided bool
}

type pendingKey struct{}

// WithPending returns ctx carrying p, the request's pending rule.
func WithPending(ctx context.Context, p *Pending) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

// PendingOf is the request's pending rule, nil when its endpoint has none.
func PendingOf(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// DecideOn decides the request's pending rule when the object just loaded (kind, id, of
// project) is the one the endpoint acts on; anything else passes. A denied gate is the
// object's 404, a denied rule its 403.
func DecideOn(ctx context.Context, kind, id, project string) error {
	p := PendingOf(ctx)
	if p == nil || p.Decided || p.Kind != kind || (p.ID != "" && p.ID != id) {
		return nil
	}
	p.Decided = true
	if p.Gate != "" && Authorize(ctx, p.Gate, project) != nil {
		return &resource.NotFoundError{Kind: kind, ID: id}
	}
	if p.Rule == "" {
		return nil
	}
	if f := Authorize(ctx, p.Rule, project); f != nil {
		return f
	}
	return nil
}
