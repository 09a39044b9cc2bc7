// Package evaluator is Cinder's expression language for a backend's filter_function and
// goodness_function (cinder/scheduler/evaluator): arithmetic, comparisons, boolean logic, a
// ternary and abs/max/min over numbers, strings and variables such as stats.free_capacity_gb
// or capabilities.QoS_support. An expression is parsed once (Parse) and evaluated per pool
// (Expr.Eval); errors are values, never panics.
//
// Precedence, highest first, as Cinder's grammar has it:
//
//	f x            function application (abs, max, min), right
//	^              power, right
//	+x -x          sign
//	* /            left
//	+ -            left
//	not NOT !      negation (binds tighter than comparisons, as in Cinder)
//	< <= > >= == != <>   chained comparisons (a < b < c)
//	c ? a : b      ternary
//	and AND &&     left
//	or OR ||       left
//	,              argument lists, right
//
// Values follow Python's rules, since Cinder's evaluator is Python: a variable's value goes
// through int() (so 37.5 reads as 37 and True as 1), a string variable that reads as a number
// becomes one, == between a number and a string is false, < between them is an error.
package evaluator

import (
	"fmt"
	"strings"
)

// MaxLength and MaxDepth bound what Parse accepts.
const (
	MaxLength = 4096
	MaxDepth  = 64
)

// Vars resolves the variables of an expression: object.name, e.g. stats.free_capacity_gb.
// It reports false for an unknown one, which makes the evaluation fail.
type Vars interface {
	Lookup(object, name string) (Value, bool)
}

// Expr is a parsed expression.
type Expr struct {
	src  string
	root *node
}

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

// Eval evaluates the expression with vars.
func (e *Expr) Eval(vars Vars) (Value, error) {
	return e.root.eval(vars)
}

type nodeKind uint8

const (
	nConst nodeKind = iota
	nVar
	nSign
	nNot
	nBinary // arithmetic: + - * / ^
	nCompare
	nAnd
	nOr
	nTernary
	nComma
	nCall
)

type node struct {
	kind   nodeKind
	op     string
	val    Value // nConst
	obj    string
	name   string  // nVar: obj.name; nCall: function name
	kids   []*node // operands
	cmpOps []string
}

// Parse parses src.
func Parse(src string) (*Expr, error) {
	if len(src) > MaxLength {
		return nil, fmt.Errorf("expression longer than %d characters", MaxLength)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, fmt.Errorf("empty expression")
	}
	root, err := p.comma()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
	}
	return &Expr{src: src, root: root}, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tNum
	tIdent
	tStr
	tOp
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isDigit(c):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
			out = append(out, token{tNum, s[i:j], i})
			i = j
		case isAlpha(c) || c == '_' || c == '.':
			j := i
			for j < len(s) && (isAlpha(s[j]) || s[j] == '_' || s[j] == '.') {
				j++
			}
			out = append(out, token{tIdent, s[i:j], i})
			i = j
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			out = append(out, token{tStr, s[i : j+1], i})
			i = j + 1
		default:
			op := ""
			for _, cand := range []string{"<=", ">=", "==", "!=", "<>", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "^", "(", ")", ",", "?", ":"} {
				if strings.HasPrefix(s[i:], cand) {
					op = cand
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
			}
			out = append(out, token{tOp, op, i})
			i += len(op)
		}
	}
	return append(out, token{kind: tEOF, pos: len(s)}), nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// is reports whether the next token is one of the operators or keywords ops.
func (p *parser) is(ops ...string) bool {
	t := p.peek()
	if t.kind != tOp && t.kind != tIdent {
		return false
	}
	for _, o := range ops {
		if t.text == o {
			return true
		}
	}
	return false
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return fmt.Errorf("expression nested deeper than %d", MaxDepth)
	}
	return nil
}

func (p *parser) comma() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.or()
	if err != nil || !p.is(",") {
		return l, err
	}
	p.next()
	r, err := p.comma()
	if err != nil {
		return nil, err
	}
	return &node{kind: nComma, kids: []*node{l, r}}, nil
}

func (p *parser) or() (*node, error) {
	l, err := p.and()
	for err == nil && p.is("or", "OR", "||") {
		p.next()
		var r *node
		if r, err = p.and(); err == nil {
			l = &node{kind: nOr, kids: []*node{l, r}}
		}
	}
	return l, err
}

func (p *parser) and() (*node, error) {
	l, err := p.ternary()
	for err == nil && p.is("and", "AND", "&&") {
		p.next()
		var r *node
		if r, err = p.ternary(); err == nil {
			l = &node{kind: nAnd, kids: []*node{l, r}}
		}
	}
	return l, err
}

func (p *parser) ternary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	c, err := p.compare()
	if err != nil || !p.is("?") {
		return c, err
	}
	p.next()
	a, err := p.ternary()
	if err != nil {
		return nil, err
	}
	if !p.is(":") {
		return nil, p.expected("':'")
	}
	p.next()
	b, err := p.ternary()
	if err != nil {
		return nil, err
	}
	return &node{kind: nTernary, kids: []*node{c, a, b}}, nil
}

func (p *parser) compare() (*node, error) {
	l, err := p.not()
	if err != nil || !p.is("<", "<=", ">", ">=", "==", "!=", "<>") {
		return l, err
	}
	n := &node{kind: nCompare, kids: []*node{l}}
	for p.is("<", "<=", ">", ">=", "==", "!=", "<>") {
		n.cmpOps = append(n.cmpOps, p.next().text)
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, r)
	}
	return n, nil
}

func (p *parser) not() (*node, error) {
	if !p.is("not", "NOT", "!") {
		return p.add()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.next()
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	return &node{kind: nNot, kids: []*node{x}}, nil
}

func (p *parser) add() (*node, error) {
	l, err := p.mul()
	for err == nil && p.is("+", "-") {
		op := p.next().text
		var r *node
		if r, err = p.mul(); err == nil {
			l = &node{kind: nBinary, op: op, kids: []*node{l, r}}
		}
	}
	return l, err
}

func (p *parser) mul() (*node, error) {
	l, err := p.sign()
	for err == nil && p.is("*", "/") {
		op := p.next().text
		var r *node
		if r, err = p.sign(); err == nil {
			l = &node{kind: nBinary, op: op, kids: []*node{l, r}}
		}
	}
	return l, err
}

func (p *parser) sign() (*node, error) {
	if !p.is("+", "-") {
		return p.pow()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	op := p.next().text
	x, err := p.sign()
	if err != nil {
		return nil, err
	}
	return &node{kind: nSign, op: op, kids: []*node{x}}, nil
}

func (p *parser) pow() (*node, error) {
	l, err := p.call()
	if err != nil || !p.is("^") {
		return l, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.next()
	r, err := p.pow()
	if err != nil {
		return nil, err
	}
	return &node{kind: nBinary, op: "^", kids: []*node{l, r}}, nil
}

var keywords = map[string]bool{"and": true, "AND": true, "or": true, "OR": true, "not": true, "NOT": true}

// startsOperand reports whether t can begin an operand of a function application.
func startsOperand(t token) bool {
	switch t.kind {
	case tNum, tStr:
		return true
	case tIdent:
		return !keywords[t.text]
	case tOp:
		return t.text == "("
	}
	return false
}

func (p *parser) call() (*node, error) {
	t := p.peek()
	if t.kind == tIdent && !keywords[t.text] && startsOperand(p.toks[p.i+1]) {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		p.next()
		arg, err := p.call()
		if err != nil {
			return nil, err
		}
		return &node{kind: nCall, name: t.text, kids: []*node{arg}}, nil
	}
	return p.atom()
}

func (p *parser) atom() (*node, error) {
	t := p.next()
	switch t.kind {
	case tNum:
		return &node{kind: nConst, val: constant(String(t.text))}, nil
	case tStr:
		return &node{kind: nConst, val: constant(String(t.text))}, nil
	case tIdent:
		if keywords[t.text] {
			return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
		}
		if obj, name, ok := variable(t.text); ok {
			return &node{kind: nVar, obj: obj, name: name}, nil
		}
		return &node{kind: nConst, val: constant(String(t.text))}, nil
	case tOp:
		if t.text == "(" {
			x, err := p.comma()
			if err != nil {
				return nil, err
			}
			if !p.is(")") {
				return nil, p.expected("')'")
			}
			p.next()
			return x, nil
		}
	}
	p.i--
	if t.kind == tEOF {
		return nil, fmt.Errorf("expression ends where an operand is expected")
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
}

func (p *parser) expected(what string) error {
	t := p.peek()
	if t.kind == tEOF {
		return fmt.Errorf("expected %s at the end of the expression", what)
	}
	return fmt.Errorf("expected %s at offset %d, found %q", what, t.pos, t.text)
}

// variable splits a word that names a variable, letters and '_' on both sides of one dot
// (Cinder's ^[a-zA-Z_]+\.[a-zA-Z_]+$); other words are string constants.
func variable(w string) (obj, name string, ok bool) {
	obj, name, ok = strings.Cut(w, ".")
	if !ok || obj == "" || name == "" || strings.Contains(name, ".") {
		return "", "", false
	}
	return obj, name, true
}
