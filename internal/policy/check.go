// Package policy evaluates oslo.policy rules as Cinder does: check strings such as
// "role:admin or project_id:%(project_id)s", Cinder's defaults rule by rule, and an operator's
// policy file (YAML or JSON) that overrides them.
package policy

import (
	"fmt"
	"strings"
	"unicode"
)

// Credentials are what a check string may test of the caller: user_id, project_id,
// domain_id, is_admin ("True"/"False"), system_scope, and roles.
type Credentials struct {
	Values map[string]string
	Roles  []string
}

// Target is what a check string may refer to as %(name)s, e.g. the resource's project_id.
type Target map[string]string

// check is one node of a parsed check string.
type check interface {
	eval(e *Enforcer, t Target, c Credentials, depth int) bool
	String() string
}

type trueCheck struct{}
type falseCheck struct{}
type andCheck []check
type orCheck []check
type notCheck struct{ c check }
type ruleCheck string
type roleCheck string

// genericCheck is "kind:match": the credential kind equals match, after %(x)s in match is
// replaced by the target's x; a match of True/False/'quoted' is a literal.
type genericCheck struct{ kind, match string }

func (trueCheck) eval(*Enforcer, Target, Credentials, int) bool  { return true }
func (trueCheck) String() string                                 { return "@" }
func (falseCheck) eval(*Enforcer, Target, Credentials, int) bool { return false }
func (falseCheck) String() string                                { return "!" }

func (a andCheck) eval(e *Enforcer, t Target, c Credentials, d int) bool {
	for _, x := range a {
		if !x.eval(e, t, c, d) {
			return false
		}
	}
	return true
}
func (a andCheck) String() string { return join(a, " and ") }

func (o orCheck) eval(e *Enforcer, t Target, c Credentials, d int) bool {
	for _, x := range o {
		if x.eval(e, t, c, d) {
			return true
		}
	}
	return false
}
func (o orCheck) String() string { return join(o, " or ") }

func join(cs []check, sep string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

func (n notCheck) eval(e *Enforcer, t Target, c Credentials, d int) bool {
	return !n.c.eval(e, t, c, d)
}
func (n notCheck) String() string { return "not " + n.c.String() }

// maxDepth bounds rule: references, so a cycle in an operator's file denies instead of
// recursing forever.
const maxDepth = 32

func (r ruleCheck) eval(e *Enforcer, t Target, c Credentials, d int) bool {
	if d >= maxDepth {
		return false
	}
	rc, ok := e.rule(string(r))
	return ok && rc.eval(e, t, c, d+1)
}
func (r ruleCheck) String() string { return "rule:" + string(r) }

func (r roleCheck) eval(_ *Enforcer, t Target, c Credentials, _ int) bool {
	want, ok := substitute(string(r), t)
	if !ok {
		return false
	}
	for _, have := range c.Roles {
		if strings.EqualFold(have, want) {
			return true
		}
	}
	return false
}
func (r roleCheck) String() string { return "role:" + string(r) }

func (g genericCheck) eval(_ *Enforcer, t Target, c Credentials, _ int) bool {
	m := g.match
	if lit, isLit := literal(m); isLit {
		have, ok := c.Values[g.kind]
		return ok && strings.EqualFold(have, lit)
	}
	want, ok := substitute(m, t)
	if !ok {
		return false
	}
	have, ok := c.Values[g.kind]
	return ok && have == want
}
func (g genericCheck) String() string { return g.kind + ":" + g.match }

// literal recognizes the Python literals oslo.policy evaluates on the right of a generic
// check: True, False and quoted strings.
func literal(m string) (string, bool) {
	switch m {
	case "True", "False":
		return m, true
	}
	if len(m) >= 2 && (m[0] == '\'' || m[0] == '"') && m[len(m)-1] == m[0] {
		return m[1 : len(m)-1], true
	}
	return "", false
}

// substitute replaces each %(name)s by the target's value; a missing name fails the check,
// as oslo.policy's KeyError does.
func substitute(s string, t Target) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(s, "%(")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.Index(s[i:], ")s")
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		name := s[i+2 : i+j]
		v, ok := t[name]
		if !ok {
			return "", false
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+2:]
	}
}

// Parse parses an oslo.policy check string. "" and "@" always pass, "!" never does.
func Parse(s string) (check, error) {
	toks := tokenize(s)
	if len(toks) == 0 {
		return trueCheck{}, nil
	}
	p := &parser{toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("policy: %q: %w", s, err)
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("policy: %q: unexpected %q", s, p.toks[p.i])
	}
	return c, nil
}

func tokenize(s string) []string {
	var out []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			flush()
		case r == '(' && cur.Len() == 0:
			out = append(out, "(")
		case r == ')' && strings.Count(cur.String(), "%(") <= strings.Count(cur.String(), ")"):
			flush()
			out = append(out, ")")
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) or() (check, error) {
	c, err := p.and()
	if err != nil {
		return nil, err
	}
	list := orCheck{c}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		c, err := p.and()
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return list, nil
}

func (p *parser) and() (check, error) {
	c, err := p.not()
	if err != nil {
		return nil, err
	}
	list := andCheck{c}
	for strings.EqualFold(p.peek(), "and") {
		p.i++
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return list, nil
}

func (p *parser) not() (check, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.i++
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return notCheck{c}, nil
	}
	return p.atom()
}

func (p *parser) atom() (check, error) {
	tok := p.peek()
	switch tok {
	case "":
		return nil, fmt.Errorf("unexpected end")
	case "(":
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return c, nil
	case ")", "and", "or":
		return nil, fmt.Errorf("unexpected %q", tok)
	}
	p.i++
	switch tok {
	case "@":
		return trueCheck{}, nil
	case "!":
		return falseCheck{}, nil
	}
	kind, match, ok := strings.Cut(tok, ":")
	if !ok || kind == "" {
		return nil, fmt.Errorf("%q is not kind:match", tok)
	}
	switch kind {
	case "rule":
		return ruleCheck(match), nil
	case "role":
		return roleCheck(match), nil
	}
	return genericCheck{kind: kind, match: match}, nil
}
