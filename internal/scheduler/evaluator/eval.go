package evaluator

import (
	"errors"
	"fmt"
	"math"
)

func (n *node) eval(vars Vars) (Value, error) {
	switch n.kind {
	case nConst:
		return n.val, nil
	case nVar:
		if vars == nil {
			return Value{}, fmt.Errorf("unknown variable %s.%s", n.obj, n.name)
		}
		v, ok := vars.Lookup(n.obj, n.name)
		if !ok {
			return Value{}, fmt.Errorf("unknown variable %s.%s", n.obj, n.name)
		}
		if v.kind == Null {
			return Value{}, fmt.Errorf("%s.%s is not set", n.obj, n.name)
		}
		c := constant(v)
		if c.kind == Null {
			return Value{}, fmt.Errorf("%s.%s: %s", n.obj, n.name, c.str)
		}
		return c, nil
	case nSign:
		x, err := n.kids[0].eval(vars)
		if err != nil {
			return x, err
		}
		if n.op == "+" && x.kind == Str {
			return x, nil
		}
		f, ok := x.Float()
		if !ok {
			return Value{}, fmt.Errorf("cannot apply sign %s to %s", n.op, describe(x))
		}
		if n.op == "-" {
			f = -f
		}
		return Number(f), nil
	case nNot:
		x, err := n.kids[0].eval(vars)
		if err != nil {
			return x, err
		}
		return Boolean(!x.Truthy()), nil
	case nBinary:
		l, err := n.kids[0].eval(vars)
		if err != nil {
			return l, err
		}
		r, err := n.kids[1].eval(vars)
		if err != nil {
			return r, err
		}
		return arith(n.op, l, r)
	case nCompare:
		l, err := n.kids[0].eval(vars)
		if err != nil {
			return l, err
		}
		for i, op := range n.cmpOps {
			r, err := n.kids[i+1].eval(vars)
			if err != nil {
				return r, err
			}
			ok, err := compare(op, l, r)
			if err != nil {
				return Value{}, err
			}
			if !ok {
				return Boolean(false), nil
			}
			l = r
		}
		return Boolean(true), nil
	case nAnd, nOr:
		// Cinder evaluates both sides, so an error on either side fails the expression.
		l, err := n.kids[0].eval(vars)
		if err != nil {
			return l, err
		}
		r, err := n.kids[1].eval(vars)
		if err != nil {
			return r, err
		}
		if l.Truthy() == (n.kind == nAnd) {
			return r, nil
		}
		return l, nil
	case nTernary:
		c, err := n.kids[0].eval(vars)
		if err != nil {
			return c, err
		}
		if c.Truthy() {
			return n.kids[1].eval(vars)
		}
		return n.kids[2].eval(vars)
	case nComma:
		l, err := n.kids[0].eval(vars)
		if err != nil {
			return l, err
		}
		r, err := n.kids[1].eval(vars)
		if err != nil {
			return r, err
		}
		if r.kind == List {
			return Value{kind: List, list: append([]Value{l}, r.list...)}, nil
		}
		return Value{kind: List, list: []Value{l, r}}, nil
	case nCall:
		x, err := n.kids[0].eval(vars)
		if err != nil {
			return x, err
		}
		return call(n.name, x)
	}
	return Value{}, errors.New("unknown expression node")
}

func describe(v Value) string {
	switch v.kind {
	case Str:
		return fmt.Sprintf("string %q", v.str)
	case List:
		return "a list"
	case Null:
		return "None"
	}
	return v.String()
}

func arith(op string, l, r Value) (Value, error) {
	lf, lok := l.Float()
	rf, rok := r.Float()
	switch op {
	case "+":
		switch {
		case lok && rok:
			return Number(lf + rf), nil
		case l.kind == Str && r.kind == Str:
			return String(l.str + r.str), nil
		case l.kind == List && r.kind == List:
			return Value{kind: List, list: append(append([]Value{}, l.list...), r.list...)}, nil
		}
	case "-":
		if lok && rok {
			return Number(lf - rf), nil
		}
	case "*":
		if lok && rok {
			return Number(lf * rf), nil
		}
	case "/":
		// Cinder divides by float(right), which also reads a number in a string.
		if r.kind == Str {
			f, ok := pyFloat(r.str)
			if !ok {
				return Value{}, fmt.Errorf("cannot divide by %s", describe(r))
			}
			rf, rok = f, true
		}
		if lok && rok {
			if rf == 0 {
				return Value{}, errors.New("division by zero")
			}
			return Number(lf / rf), nil
		}
	case "^":
		if lok && rok {
			if lf == 0 && rf < 0 {
				return Value{}, errors.New("zero to a negative power")
			}
			p := math.Pow(lf, rf)
			if math.IsNaN(p) && !math.IsNaN(lf) && !math.IsNaN(rf) {
				return Value{}, fmt.Errorf("%s ^ %s is not a real number", l, r)
			}
			return Number(p), nil
		}
	}
	return Value{}, fmt.Errorf("cannot compute %s %s %s", describe(l), op, describe(r))
}

func compare(op string, l, r Value) (bool, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=", "<>":
		return !equal(l, r), nil
	}
	c, err := order(l, r)
	if err != nil {
		return false, fmt.Errorf("cannot compare %s %s %s: %w", describe(l), op, describe(r), err)
	}
	if c == 2 { // NaN: every ordering is false
		return false, nil
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil // ">="
}

// equal is Python's ==.
func equal(l, r Value) bool {
	lf, lok := l.Float()
	rf, rok := r.Float()
	switch {
	case lok && rok:
		return lf == rf
	case l.kind == Str && r.kind == Str:
		return l.str == r.str
	case l.kind == List && r.kind == List:
		if len(l.list) != len(r.list) {
			return false
		}
		for i := range l.list {
			if !equal(l.list[i], r.list[i]) {
				return false
			}
		}
		return true
	case l.kind == Null && r.kind == Null:
		return true
	}
	return false
}

var errUnorderable = errors.New("values of different types have no order")

// order compares numbers with numbers and strings with strings: -1, 0, 1, or 2 for NaN.
func order(l, r Value) (int, error) {
	lf, lok := l.Float()
	rf, rok := r.Float()
	switch {
	case lok && rok:
		switch {
		case math.IsNaN(lf) || math.IsNaN(rf):
			return 2, nil
		case lf < rf:
			return -1, nil
		case lf > rf:
			return 1, nil
		}
		return 0, nil
	case l.kind == Str && r.kind == Str:
		switch {
		case l.str < r.str:
			return -1, nil
		case l.str > r.str:
			return 1, nil
		}
		return 0, nil
	}
	return 0, errUnorderable
}

func call(name string, x Value) (Value, error) {
	switch name {
	case "abs":
		if f, ok := x.Float(); ok {
			return Number(math.Abs(f)), nil
		}
		return Value{}, fmt.Errorf("abs of %s", describe(x))
	case "max", "min":
		if x.kind != List || len(x.list) == 0 {
			return Value{}, fmt.Errorf("%s needs a list of values, got %s", name, describe(x))
		}
		best := x.list[0]
		for _, v := range x.list[1:] {
			c, err := order(v, best)
			if err != nil {
				return Value{}, fmt.Errorf("%s: %w", name, err)
			}
			if (name == "max" && c == 1) || (name == "min" && c == -1) {
				best = v
			}
		}
		return best, nil
	}
	return Value{}, fmt.Errorf("unknown function %q (abs, max and min are known)", name)
}
