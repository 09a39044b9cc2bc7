package config

import (
	"errors"
	"fmt"
	"strings"
)

// errNotSet: the option is neither written nor declared with a default.
var errNotSet = errors.New("not set")

// resolver expands $references the way oslo.config does: Python's
// string.Template.safe_substitute with the identifier pattern [_a-z][._a-z0-9]*, each name
// looked up in the section of the value, then in [DEFAULT]; "group.name" looks in [group]
// first. The referenced value is itself expanded, in the section it was found in.
type resolver struct {
	st    *store
	def   func(id, key string) (string, bool) // the default of an option Scoria implements
	stack []string                            // sectionID+sep+key being expanded, to catch loops
}

// value is the expanded value of key in section id: as written, else its default.
func (r *resolver) value(id, key string) (string, error) {
	raw, ok := r.raw(id, key)
	if !ok {
		return "", errNotSet
	}
	return r.expand(id, key, raw)
}

func (r *resolver) raw(id, key string) (string, bool) {
	if kv, ok := r.st.get(id, key); ok {
		return kv.value, true
	}
	return r.def(id, key)
}

// expand replaces the references in raw, the value of key in section id.
func (r *resolver) expand(id, key, raw string) (string, error) {
	if !strings.Contains(raw, "$") {
		return raw, nil
	}
	top := len(r.stack) == 0
	me := id + sep + key
	for i, s := range r.stack {
		if s == me {
			var loop []string
			for _, s := range append(r.stack[i:], me) {
				_, k, _ := strings.Cut(s, sep)
				loop = append(loop, "$"+k)
			}
			return "", &refError{loop: loop}
		}
	}
	r.stack = append(r.stack, me)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()

	var b strings.Builder
	for i := 0; i < len(raw); {
		if raw[i] != '$' {
			b.WriteByte(raw[i])
			i++
			continue
		}
		name, n := placeholder(raw[i:])
		switch {
		case n == 0: // not a placeholder: kept as written
			b.WriteByte('$')
			i++
			continue
		case name == "": // $$
			b.WriteByte('$')
			i += n
			continue
		}
		v, err := r.reference(id, name)
		if err != nil {
			var re *refError
			switch {
			case errors.Is(err, errNotSet):
				re = &refError{missing: name, where: r.where(id, name)}
			case errors.As(err, &re):
				re.via = append([]string{"$" + name}, re.via...)
			default:
				return "", err
			}
			if top {
				return "", errors.New(re.message(raw))
			}
			return "", re
		}
		b.WriteString(v)
		i += n
	}
	return b.String(), nil
}

// refError is a reference that cannot be resolved, on its way out to the value that led to it.
type refError struct {
	missing string   // the name that is not set
	where   string   // where it was looked for
	loop    []string // or the references that go round
	via     []string // the references followed from the outer value
}

func (e *refError) Error() string { return e.message("") }

func (e *refError) message(raw string) string {
	if e.loop != nil {
		return fmt.Sprintf("%q leads to a loop: %s", raw, strings.Join(e.loop, " → "))
	}
	through := ""
	if len(e.via) > 0 {
		through = " (through " + strings.Join(e.via, ", ") + ")"
	}
	return fmt.Sprintf("%q refers to $%s%s, which is not set%s (write $$ for a literal $)", raw, e.missing, through, e.where)
}

// where says which sections were searched for name, for messages.
func (r *resolver) where(id, name string) string {
	def := sectionID(defaultSection)
	if group, _, ok := strings.Cut(name, "."); ok && sectionID(group) != def {
		return fmt.Sprintf(" in [%s] or [DEFAULT]", r.st.name(sectionID(group)))
	}
	if id == def {
		return " in [DEFAULT]"
	}
	return fmt.Sprintf(" in [%s] or [DEFAULT]", r.st.name(id))
}

// reference looks name up from a value in section id.
func (r *resolver) reference(id, name string) (string, error) {
	def := sectionID(defaultSection)
	if group, opt, ok := strings.Cut(name, "."); ok {
		v, err := r.value(sectionID(group), strings.ToLower(opt))
		if !errors.Is(err, errNotSet) {
			return v, err
		}
		return r.value(def, strings.ToLower(name))
	}
	name = strings.ToLower(name)
	v, err := r.value(id, name)
	if errors.Is(err, errNotSet) && id != def {
		return r.value(def, name)
	}
	return v, err
}

// placeholder reads the placeholder at the start of s, which begins with '$': it returns the
// name and the length of "$name" or "${name}", ("", 2) for "$$", and n == 0 when s starts with
// a '$' that introduces no valid placeholder.
func placeholder(s string) (name string, n int) {
	if len(s) < 2 {
		return "", 0
	}
	switch s[1] {
	case '$':
		return "", 2
	case '{':
		end := strings.IndexByte(s, '}')
		if end < 0 || identLen(s[2:end]) != end-2 || end == 2 {
			return "", 0
		}
		return s[2:end], end + 1
	}
	l := identLen(s[1:])
	if l == 0 {
		return "", 0
	}
	return s[1 : 1+l], 1 + l
}

// identLen is the length of the identifier at the start of s: [_a-zA-Z][._a-zA-Z0-9]*.
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || !(c == '.' || (c >= '0' && c <= '9'))) {
			return i
		}
	}
	return len(s)
}
