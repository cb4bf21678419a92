package scripts

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	exprast "github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/tes-project/tes/flow"
	lua "github.com/yuin/gopher-lua"
	luaast "github.com/yuin/gopher-lua/ast"
)

// The static checks of tes check that go past compiling: what the Lua AST
// of each file says about the commands it builds, the module functions it
// calls and the status codes it writes, compared with the flows the loader
// built. Load time only.

// settleSection names the docs' section a money flow without a settle path
// should read.
const settleSection = `docs/scripting.md, "Settle obligations of money flows"`

// modules are the tes modules whose calls are checked statically.
var modules = []string{"felica", "sam", "ledger", "effect", "bin"}

// samLabels are the answers sam's command builders give without `as`.
var samLabels = map[string]string{"auth": "auth", "read": "read_v2", "write": "write_v2"}

// chunkLint is what one parsed Lua file says, for the static checks.
type chunkLint struct {
	// labels are the answers its felica calls name (as = "…", else the
	// command's kind); dynamic is set when one names it otherwise.
	labels  map[string]bool
	dynamic bool
	// calls are its calls of module functions (felica.read, …).
	calls []moduleCall
	// shadowed are module names it declares itself (local felica = …).
	shadowed map[string]bool
	// finals maps "fail=999" and "done=0" to the lines they are on.
	finals map[string][]int
	// writeSent is the line of its first effect.write_sent call; 0: none.
	writeSent int
}

type moduleCall struct {
	module, name string
	line         int
}

var (
	funcCallType   = reflect.TypeOf(&luaast.FuncCallExpr{})
	tableType      = reflect.TypeOf(&luaast.TableExpr{})
	localAssign    = reflect.TypeOf(&luaast.LocalAssignStmt{})
	assignType     = reflect.TypeOf(&luaast.AssignStmt{})
	parListType    = reflect.TypeOf(&luaast.ParList{})
	funcDefType    = reflect.TypeOf(&luaast.FuncDefStmt{})
	luaStringsType = reflect.TypeOf([]string(nil))
)

// lintChunk reads a parsed file.
func lintChunk(stmts []luaast.Stmt) *chunkLint {
	l := &chunkLint{labels: map[string]bool{}, shadowed: map[string]bool{}, finals: map[string][]int{}}
	l.walk(reflect.ValueOf(stmts))
	return l
}

func (l *chunkLint) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		switch v.Type() {
		case funcCallType:
			l.call(v.Interface().(*luaast.FuncCallExpr))
		case tableType:
			l.table(v.Interface().(*luaast.TableExpr))
		case localAssign:
			l.declare(v.Interface().(*luaast.LocalAssignStmt).Names)
		case parListType:
			l.declare(v.Interface().(*luaast.ParList).Names)
		case assignType:
			for _, lhs := range v.Interface().(*luaast.AssignStmt).Lhs {
				if id, ok := lhs.(*luaast.IdentExpr); ok {
					l.declare([]string{id.Value})
				}
			}
		case funcDefType:
			if fn, ok := v.Interface().(*luaast.FuncDefStmt); ok && fn.Name != nil {
				if id, ok := fn.Name.Func.(*luaast.IdentExpr); ok {
					l.declare([]string{id.Value})
				}
			}
		}
		l.walk(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				l.walk(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type() == luaStringsType {
			return
		}
		for i := range v.Len() {
			l.walk(v.Index(i))
		}
	}
}

func (l *chunkLint) declare(names []string) {
	for _, n := range names {
		for _, m := range modules {
			if n == m {
				l.shadowed[m] = true
			}
		}
	}
}

// call notes a call of a module function, and the label a felica call
// gives its answer.
func (l *chunkLint) call(c *luaast.FuncCallExpr) {
	get, ok := c.Func.(*luaast.AttrGetExpr)
	if !ok {
		return
	}
	obj, ok1 := get.Object.(*luaast.IdentExpr)
	key, ok2 := get.Key.(*luaast.StringExpr)
	if !ok1 || !ok2 {
		return
	}
	isModule := false
	for _, m := range modules {
		isModule = isModule || obj.Value == m
	}
	if !isModule {
		return
	}
	l.calls = append(l.calls, moduleCall{module: obj.Value, name: key.Value, line: c.Line()})
	if obj.Value == "effect" && key.Value == "write_sent" && l.writeSent == 0 {
		l.writeSent = c.Line()
	}
	if obj.Value != "felica" && obj.Value != "sam" {
		return
	}
	if len(c.Args) == 0 {
		return // not a command builder (sam.authenticated())
	}
	t, isTable := c.Args[0].(*luaast.TableExpr)
	if len(c.Args) != 1 || !isTable {
		l.dynamic = true // options built elsewhere: the label cannot be seen
		return
	}
	label, known := key.Value, true
	if obj.Value == "sam" {
		label, known = samLabels[key.Value]
	}
	for _, f := range t.Fields {
		if k, ok := f.Key.(*luaast.StringExpr); ok && k.Value == "as" {
			s, ok := f.Value.(*luaast.StringExpr)
			label, known = "", ok
			if ok {
				label = s.Value
			}
		}
	}
	if known {
		l.labels[label] = true
	} else {
		l.dynamic = true
	}
}

// table notes the lines of "fail = N" and "done = N".
func (l *chunkLint) table(t *luaast.TableExpr) {
	for _, f := range t.Fields {
		k, ok := f.Key.(*luaast.StringExpr)
		if !ok || (k.Value != "fail" && k.Value != "done") {
			continue
		}
		if n, ok := f.Value.(*luaast.NumberExpr); ok {
			if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
				key := fmt.Sprintf("%s=%d", k.Value, int(v))
				l.finals[key] = append(l.finals[key], n.Line())
			}
		}
	}
}

// finalLine is the line of "key = status" in the flow's file, else in a
// library, else fallback.
func (c *compiled) finalLine(ch *chunk, key string, status, fallback int) (string, int) {
	k := fmt.Sprintf("%s=%d", key, status)
	for _, x := range append([]*chunk{ch}, c.libraries...) {
		if x.lint != nil && len(x.lint.finals[k]) > 0 {
			return x.file, x.lint.finals[k][0]
		}
	}
	return ch.file, fallback
}

// validCodes lists the status codes a transition may give: 0 for done,
// the contract's others for fail.
func validCodes() string {
	var codes []string
	for code := 1; code < 1000; code++ {
		if _, ok := flow.StatusMessage(code); ok {
			codes = append(codes, strconv.Itoa(code))
		}
	}
	return "done = 0; fail = one of " + strings.Join(codes, ", ")
}

// lint runs the static checks over a compiled issuer whose flows built:
// guards that name an answer no command is built for, calls of module
// functions that do not exist. probe is the load's Lua state, whose module
// tables are the truth about what exists. Warnings go to c.warnings.
func (c *compiled) lint(probe *lua.LState, ps *problems) {
	chunks := append(append([]*chunk(nil), c.libraries...), c.flowFiles...)
	for _, ch := range chunks {
		if ch.lint == nil {
			continue
		}
		for _, call := range ch.lint.calls {
			if ch.lint.shadowed[call.module] {
				continue
			}
			tbl, ok := probe.GetGlobal(call.module).(*lua.LTable)
			if !ok || tbl.RawGetString(call.name) != lua.LNil {
				continue
			}
			ps.add(ch.file, call.line, "%s.%s is not a function of the %s module (it has %s)",
				call.module, call.name, call.module, strings.Join(tableKeys(tbl), ", "))
		}
	}
	for _, ch := range c.flowFiles {
		fl := c.flows[ch.file]
		if fl == nil || ch.lint == nil {
			continue
		}
		labels, dynamic := map[string]bool{}, ch.lint.dynamic
		for _, x := range append([]*chunk{ch}, c.libraries...) {
			if x.lint == nil {
				dynamic = true
				continue
			}
			dynamic = dynamic || x.lint.dynamic
			for l := range x.lint.labels {
				labels[l] = true
			}
		}
		readsUncertain := false
		for _, name := range sortedStepNames(fl) {
			st := fl.steps[name]
			for _, tr := range st.next {
				for _, prog := range []*vm.Program{tr.when, tr.balance} {
					if prog == nil {
						continue
					}
					refs := exprRefs(prog)
					readsUncertain = readsUncertain || refs.cardUncertain
					if dynamic {
						continue
					}
					for _, label := range refs.resp {
						if !labels[label] {
							ps.add(tr.file, tr.line, "step %s: guard names resp.%s, but no command of the flow is built with as = %q (its commands answer as %s)",
								name, label, label, quotedList(labels))
						}
					}
				}
			}
		}
		if ch.lint.writeSent > 0 && !readsUncertain {
			c.warnings = append(c.warnings, Problem{File: ch.file, Line: ch.lint.writeSent,
				Message: "warning: the flow sends write_sent but no guard reads card.uncertain, so a purchase whose write's answer was lost in an earlier operation is never settled here; see " + settleSection})
		}
	}
}

func sortedStepNames(fl *compiledFlow) []string {
	names := make([]string, 0, len(fl.steps))
	for n := range fl.steps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func tableKeys(t *lua.LTable) []string {
	var keys []string
	t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k.String()) })
	sort.Strings(keys)
	return keys
}

func quotedList(set map[string]bool) string {
	if len(set) == 0 {
		return "nothing"
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, strconv.Quote(k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// refs is what a guard names: the answers (resp.<label>) and whether it
// reads card.uncertain.
type refs struct {
	resp          []string
	cardUncertain bool
}

type refVisitor struct{ r *refs }

func (v refVisitor) Visit(node *exprast.Node) {
	m, ok := (*node).(*exprast.MemberNode)
	if !ok {
		return
	}
	id, ok1 := m.Node.(*exprast.IdentifierNode)
	prop, ok2 := m.Property.(*exprast.StringNode)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case id.Value == "resp":
		v.r.resp = append(v.r.resp, prop.Value)
	case id.Value == "card" && prop.Value == "uncertain":
		v.r.cardUncertain = true
	}
}

func exprRefs(prog *vm.Program) refs {
	var r refs
	node := prog.Node()
	exprast.Walk(&node, refVisitor{&r})
	return r
}
