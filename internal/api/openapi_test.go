package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/scoria/scoria/internal/api/wire"
)

// openAPIPath is the API description, relative to this package.
var openAPIPath = filepath.Join("..", "..", "api", "openapi.yaml")

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// routeAreas are the per-area route registrars handler() calls with its route function, by
// method name. handler() is parsed to check that this list is complete.
func routeAreas(s *server) map[string]func(route) {
	return map[string]func(route){
		"typeRoutes":             s.typeRoutes,
		"snapshotRoutes":         s.snapshotRoutes,
		"backupRoutes":           s.backupRoutes,
		"quotaRoutes":            s.quotaRoutes,
		"transferRoutes":         s.transferRoutes,
		"volumeExtraRoutes":      s.volumeExtraRoutes,
		"attachmentRoutes":       s.attachmentRoutes,
		"gapRoutes":              s.gapRoutes,
		"groupTypeRoutes":        s.groupTypeRoutes,
		"groupRoutes":            s.groupRoutes,
		"groupSnapshotRoutes":    s.groupSnapshotRoutes,
		"cgsnapshotRoutes":       s.cgsnapshotRoutes,
		"consistencygroupRoutes": s.consistencygroupRoutes,
	}
}

// actionDispatchers are the handlers of POST …/action whose action names are the cases of a
// switch, by the documented path (without /v3/{project_id}).
var actionDispatchers = map[string]string{
	"/snapshots/{snapshot_id}/action": "snapshotAction",
	"/types/{type_id}/action":         "typeAction",
	"/backups/{backup_id}/action":     "backupAction",
}

// TestOpenAPIMatchesRouter checks api/openapi.yaml against what the router serves: every
// route is documented, every documented path and method is routed (also by sending a request
// through the handler and checking the router did not answer 404 or 405), every path
// parameter is declared, and the actions of POST …/action are exactly the served ones.
func TestOpenAPIMatchesRouter(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := doc.operations()
	routed := routedOperations(t)

	var problems []string
	for _, op := range openAPISorted(routed) {
		if !documented[op] {
			problems = append(problems, "routed but not documented: "+op)
		}
	}
	for _, op := range openAPISorted(documented) {
		if !routed[op] {
			problems = append(problems, "documented but not routed: "+op)
		}
	}
	problems = append(problems, doc.undeclaredPathParameters()...)

	// Ask the real handler: a documented operation must reach a handler, not the router's
	// 404 (unknown path) or 405 (known path, other method).
	e := newEnv(t)
	for _, op := range openAPISorted(documented) {
		method, path, _ := strings.Cut(op, " ")
		rec := e.do(call{method: method, path: probePath(path), body: probeBody(method), version: "volume " + GatedVersion})
		if routerRefused(rec.Code, rec.Body.String()) {
			problems = append(problems, fmt.Sprintf("documented but the router answers %d: %s", rec.Code, op))
		}
	}

	// Actions: the documented oneOf of each POST …/action against the served names.
	s := &server{}
	served := map[string][]string{"/volumes/{volume_id}/action": openAPISorted(s.volumeActions())}
	for path, fn := range actionDispatchers {
		served[path] = switchCases(t, fn)
	}
	for _, path := range openAPISorted(served) {
		for _, prefix := range []string{"/v3/{project_id}", "/v3"} {
			full := prefix + path
			names, err := doc.actionNames(full)
			if err != nil {
				problems = append(problems, fmt.Sprintf("POST %s: %v", full, err))
				continue
			}
			for _, n := range served[path] {
				if !slices.Contains(names, n) {
					problems = append(problems, fmt.Sprintf("action served but not documented in POST %s: %s", full, n))
				}
			}
			for _, n := range names {
				if !slices.Contains(served[path], n) {
					problems = append(problems, fmt.Sprintf("action documented but not served in POST %s: %s", full, n))
				}
				// The handler must know it: an unknown action is "There is no such action".
				rec := e.do(call{method: "POST", path: probePath(full), body: fmt.Sprintf(`{%q: {}}`, n), version: "volume " + GatedVersion})
				if strings.Contains(rec.Body.String(), "There is no such action") {
					problems = append(problems, fmt.Sprintf("action documented in POST %s but the handler does not know it: %s", full, n))
				}
			}
			// The probe itself must be able to tell.
			rec := e.do(call{method: "POST", path: probePath(full), body: `{"openapi-no-such-action": {}}`, version: "volume " + GatedVersion})
			if !strings.Contains(rec.Body.String(), "There is no such action") {
				problems = append(problems, fmt.Sprintf("POST %s does not refuse an unknown action (%d %s); the action probe is blind", full, rec.Code, rec.Body.String()))
			}
		}
	}

	if len(problems) > 0 {
		t.Errorf("api/openapi.yaml does not match the router (%d differences):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
}

// routerRefused reports whether an answer is the router's own 404 (unknownPath) or 405
// (methodNotAllowed) rather than a handler's.
func routerRefused(code int, body string) bool {
	switch code {
	case http.StatusMethodNotAllowed:
		return true
	case http.StatusNotFound:
		var b struct{ Code, Title string }
		return json.Unmarshal([]byte(body), &b) == nil && b.Code == "404 Not Found" && b.Title == "Not Found"
	}
	return false
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// probePath fills a documented path's parameters: the test's project, an id no resource has.
func probePath(path string) string {
	return pathParam.ReplaceAllStringFunc(path, func(p string) string {
		if p == "{project_id}" {
			return testProject
		}
		return "openapi-probe"
	})
}

func probeBody(method string) string {
	if method == http.MethodPost || method == http.MethodPut {
		return "{}"
	}
	return ""
}

// routedOperations is every "METHOD /path" the router serves: the routes handler() registers
// itself (read from its source) and those of each area's registrar (recorded by calling it).
func routedOperations(t *testing.T) map[string]bool {
	t.Helper()
	ops := map[string]bool{}
	api := route(func(path, method string, _ wire.HandlerFunc) {
		ops[method+" /v3/{project_id}"+path] = true
		ops[method+" /v3"+path] = true
	})

	fn := parseFunc(t, "router.go", "handler")
	var areas []string
	var bad []string
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch f := c.Fun.(type) {
		case *ast.Ident: // api("/path", http.MethodX, h)
			if f.Name != "api" {
				return true
			}
			path, ok1 := stringLit(c.Args[0])
			method, ok2 := httpMethod(c.Args[1])
			if !ok1 || !ok2 {
				bad = append(bad, "an api(...) call this test cannot read")
				return true
			}
			api(path, method, nil)
		case *ast.SelectorExpr:
			switch {
			case f.Sel.Name == "Methods": // r.HandleFunc("/path", h).Methods(http.MethodX)
				inner, ok := f.X.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := inner.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
					return true
				}
				path, ok := stringLit(inner.Args[0])
				if !ok {
					return true // the route closure's r.Handle("/v3/{project_id}"+path, …)
				}
				for _, a := range c.Args {
					m, ok := httpMethod(a)
					if !ok {
						bad = append(bad, "a .Methods(...) argument this test cannot read on "+path)
						continue
					}
					ops[m+" "+path] = true
				}
			case len(c.Args) == 1 && isIdent(c.Args[0], "api"): // s.xxxRoutes(api)
				areas = append(areas, f.Sel.Name)
			}
		}
		return true
	})
	for _, b := range bad {
		t.Errorf("router.go handler(): %s", b)
	}

	known := routeAreas(&server{})
	for _, a := range areas {
		register, ok := known[a]
		if !ok {
			t.Errorf("handler() registers routes through s.%s(api), unknown to this test: add it to routeAreas", a)
			continue
		}
		register(api)
	}
	for a := range known {
		if !slices.Contains(areas, a) {
			t.Errorf("routeAreas lists %s, which handler() no longer calls", a)
		}
	}
	if len(ops) < 10 {
		t.Fatalf("found only %d routes in handler(); the test no longer reads router.go right", len(ops))
	}
	return ops
}

// parseFunc parses a method of this package by name.
func parseFunc(t *testing.T, file, name string) *ast.FuncDecl {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == name && fn.Body != nil {
			return fn
		}
	}
	t.Fatalf("%s has no func %s", file, name)
	return nil
}

// switchCases are the string cases of the switches of the package's method name: the
// actions a …/action handler dispatches.
func switchCases(t *testing.T, name string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != name || fn.Recv == nil {
				continue
			}
			var cases []string
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if cc, ok := n.(*ast.CaseClause); ok {
					for _, e := range cc.List {
						if s, ok := stringLit(e); ok {
							cases = append(cases, s)
						}
					}
				}
				return true
			})
			if len(cases) == 0 {
				t.Fatalf("%s in %s has no string cases; the test no longer reads it right", name, file)
			}
			sort.Strings(cases)
			return cases
		}
	}
	t.Fatalf("no method %s in package api", name)
	return nil
}

func stringLit(e ast.Expr) (string, bool) {
	l, ok := e.(*ast.BasicLit)
	if !ok || l.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(l.Value)
	return s, err == nil
}

// httpMethod reads http.MethodX.
func httpMethod(e ast.Expr) (string, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || !isIdent(sel.X, "http") || !strings.HasPrefix(sel.Sel.Name, "Method") {
		return "", false
	}
	return strings.ToUpper(strings.TrimPrefix(sel.Sel.Name, "Method")), true
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func openAPISorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// openAPI is the decoded description (YAML anchors resolved).
type openAPI struct {
	root  map[string]any
	paths map[string]any
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("parse %s: %v", openAPIPath, err)
	}
	paths, ok := root["paths"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no paths", openAPIPath)
	}
	return &openAPI{root: root, paths: paths}
}

// operations is every documented "METHOD /path".
func (d *openAPI) operations() map[string]bool {
	ops := map[string]bool{}
	for path, item := range d.paths {
		m, _ := item.(map[string]any)
		for _, method := range openAPIMethods {
			if _, ok := m[method]; ok {
				ops[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return ops
}

// resolve follows a local $ref ("#/components/…").
func (d *openAPI) resolve(v any) (map[string]any, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object: %v", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, fmt.Errorf("non-local $ref %s", ref)
		}
		var cur any = d.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("$ref %s does not resolve", ref)
			}
			if cur, ok = cm[part]; !ok {
				return nil, fmt.Errorf("$ref %s does not resolve", ref)
			}
		}
		v = cur
	}
	return nil, fmt.Errorf("$ref loop at %v", v)
}

// undeclaredPathParameters names each {parameter} of a documented path that the path item or
// an operation of it does not declare "in: path".
func (d *openAPI) undeclaredPathParameters() []string {
	var out []string
	for _, path := range openAPISorted(d.paths) {
		item, _ := d.paths[path].(map[string]any)
		declared := func(params any) map[string]bool {
			got := map[string]bool{}
			list, _ := params.([]any)
			for _, p := range list {
				pm, err := d.resolve(p)
				if err != nil {
					out = append(out, fmt.Sprintf("%s: parameter: %v", path, err))
					continue
				}
				if pm["in"] == "path" {
					got[fmt.Sprint(pm["name"])] = true
				}
			}
			return got
		}
		common := declared(item["parameters"])
		for _, method := range openAPIMethods {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			own := declared(op["parameters"])
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !common[m[1]] && !own[m[1]] {
					out = append(out, fmt.Sprintf("%s %s: path parameter %s is not declared", strings.ToUpper(method), path, m[1]))
				}
			}
		}
	}
	return out
}

// actionNames are the action names of a POST …/action: its JSON request body is a oneOf of
// objects of exactly one (required) property, the action's name.
func (d *openAPI) actionNames(path string) ([]string, error) {
	item, ok := d.paths[path].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not documented")
	}
	post, ok := item["post"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no post operation")
	}
	body, err := d.resolve(post["requestBody"])
	if err != nil {
		return nil, fmt.Errorf("requestBody: %v", err)
	}
	content, _ := body["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	schema, err := d.resolve(media["schema"])
	if err != nil {
		return nil, fmt.Errorf("requestBody schema: %v", err)
	}
	variants, ok := schema["oneOf"].([]any)
	if !ok || len(variants) == 0 {
		return nil, fmt.Errorf("the request body schema is not a oneOf")
	}
	var names []string
	for i, v := range variants {
		vm, err := d.resolve(v)
		if err != nil {
			return nil, fmt.Errorf("oneOf[%d]: %v", i, err)
		}
		props, _ := vm["properties"].(map[string]any)
		req, _ := vm["required"].([]any)
		if len(props) != 1 || len(req) != 1 {
			return nil, fmt.Errorf("oneOf[%d] is not an object of one required property", i)
		}
		for name := range props {
			if req[0] != name {
				return nil, fmt.Errorf("oneOf[%d]: %s is not required", i, name)
			}
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}
