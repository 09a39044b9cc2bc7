package scheduler

import (
	"fmt"
	"strings"
)

// JsonFilter passes the pools that satisfy the query scheduler hint, Cinder's JSON grammar:
// ["and", [">=", "$free_capacity_gb", 100], ["=", "$capabilities.vendor_name", "X"]]. The
// commands are = < > <= >= in not or and; "$name" reads an attribute of the pool
// (free_capacity_gb, total_capacity_gb, …, capabilities.key, service.availability_zone), and
// an attribute that is not there is dropped from the arguments, as in Cinder.
type JsonFilter struct{}

func (JsonFilter) Name() string { return "JsonFilter" }

func (JsonFilter) Fit(r *Request, p *Pool) (bool, Reason) {
	if r.qerr != "" {
		return false, Reason{Code: reasonQueryError, Detail: r.qerr}
	}
	q, ok := r.query.([]any)
	if r.query == nil || (ok && len(q) == 0) {
		return true, fits
	}
	if !ok {
		return false, Reason{Code: reasonQueryError, Detail: "the query hint is not a JSON list"}
	}
	res, err := jsonProcess(q, p, 0)
	if err != nil {
		return false, Reason{Code: reasonQueryError, Detail: err.Error()}
	}
	if l, isList := res.([]any); isList {
		for _, e := range l {
			if pyTruthy(e) {
				return true, fits
			}
		}
		return false, Reason{Code: reasonQuery}
	}
	if !pyTruthy(res) {
		return false, Reason{Code: reasonQuery}
	}
	return true, fits
}

func jsonProcess(query []any, p *Pool, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("the query hint is nested too deeply")
	}
	if len(query) == 0 {
		return true, nil
	}
	cmd, _ := query[0].(string)
	args := make([]any, 0, len(query)-1)
	for _, a := range query[1:] {
		switch x := a.(type) {
		case []any:
			v, err := jsonProcess(x, p, depth+1)
			if err != nil {
				return nil, err
			}
			a = v
		case string:
			a = jsonVar(x, p)
		}
		if a != nil {
			args = append(args, a)
		}
	}
	switch cmd {
	case "=", "<", ">", "<=", ">=":
		if len(args) < 2 {
			return false, nil
		}
		for _, b := range args[1:] {
			ok, err := jsonCompare(cmd, args[0], b)
			if err != nil {
				return nil, err
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	case "in":
		if len(args) < 2 {
			return false, nil
		}
		for _, b := range args[1:] {
			if pyEqual(args[0], b) {
				return true, nil
			}
		}
		return false, nil
	case "not":
		out := make([]any, len(args))
		for i, a := range args {
			out[i] = !pyTruthy(a)
		}
		return out, nil
	case "or":
		for _, a := range args {
			if pyTruthy(a) {
				return true, nil
			}
		}
		return false, nil
	case "and":
		for _, a := range args {
			if !pyTruthy(a) {
				return false, nil
			}
		}
		return true, nil
	}
	return nil, fmt.Errorf("unknown command %v in the query hint", query[0])
}

// jsonVar resolves "$attribute.key…" against the pool; other strings are themselves.
func jsonVar(s string, p *Pool) any {
	if !strings.HasPrefix(s, "$") {
		return s
	}
	path := strings.Split(s[1:], ".")
	var obj any
	switch path[0] {
	case "capabilities":
		obj = p.Caps
	case "service":
		obj = map[string]any{"availability_zone": p.Zone, "host": p.Backend}
	case "host":
		obj = p.Name
	case "free_capacity_gb":
		if !p.free.Known() {
			obj = p.free.String()
		} else {
			obj = p.freeGB()
		}
	case "allocated_capacity_gb":
		obj = p.allocatedGB()
	case "provisioned_capacity_gb":
		obj = p.provisionedGB()
	case "max_over_subscription_ratio":
		obj = p.ratio
	default:
		obj = p.Caps[path[0]]
	}
	for _, k := range path[1:] {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[k]
	}
	return obj
}

func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func pyEqual(a, b any) bool {
	af, aok := jsonNum(a)
	bf, bok := jsonNum(b)
	if aok && bok {
		return af == bf
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	return aok && bok && as == bs
}

func jsonNum(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func jsonCompare(op string, a, b any) (bool, error) {
	if op == "=" {
		return pyEqual(a, b), nil
	}
	var c int
	af, aok := jsonNum(a)
	bf, bok := jsonNum(b)
	as, asok := a.(string)
	bs, bsok := b.(string)
	switch {
	case aok && bok:
		c = cmpFloat(af, bf)
	case asok && bsok:
		c = strings.Compare(as, bs)
	default:
		return false, fmt.Errorf("cannot compare %v %s %v", a, op, b)
	}
	switch op {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	}
	return c >= 0, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
