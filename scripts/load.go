package scripts

import (
	"bytes"
	"errors"
	"log/slog"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/vm"
	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/flow"
	lua "github.com/yuin/gopher-lua"
	luaast "github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// compiled is one issuer version, fully checked: the only thing a Step
// runs. Read-only once built; shared by every goroutine.
type compiled struct {
	issuer    string
	hash      string
	files     map[string][]byte // path inside the issuer folder → content
	man       manifest
	settings  flow.Settings
	framing   felica.Framing
	libraries []*chunk
	flowFiles []*chunk
	flows     map[string]*compiledFlow // by chunk file
	ops       map[string]*operation    // by canonical name
	names     map[flow.Endpoint]map[string]string
	defaults  map[flow.Endpoint]map[string]string // rule → canonical name
	quirks    []compiledQuirk
	// warnings are what tes check reports without refusing the load.
	warnings []Problem
}

// chunk is one compiled Lua file.
type chunk struct {
	file    string // "ISSUER/path.lua", the name Lua errors carry
	proto   *lua.FunctionProto
	strings map[string]int // each string literal → the first line it is on
	lint    *chunkLint     // what the static checks read (lint.go)
}

type compiledFlow struct {
	file  string
	start *compiledStep
	steps map[string]*compiledStep
}

type compiledStep struct {
	name     string
	key      stepKey
	line     int
	hasRun   bool
	hasAfter bool
	next     []transition
	needs    factSet
}

// transition is one guarded way out of a step.
type transition struct {
	when     *vm.Program // nil: always
	operands []operand   // what when reads, for the trace
	src      string
	file     string
	line     int
	to       *compiledStep
	target   string
	final    bool
	status   int
	message  string
	balance  *vm.Program
}

type operation struct {
	name string
	flow *compiledFlow
}

type compiledQuirk struct {
	name string
	when *vm.Program
	src  string
	line int
	set  map[string]any
}

// compileIssuer builds one issuer version from its files: the single load
// path behind Open, Reload, Pinned and Check.
func compileIssuer(issuer string, files map[string][]byte, logger *slog.Logger) (*compiled, []Problem) {
	ps := &problems{}
	c := &compiled{issuer: issuer, hash: contentHash(files), files: files, flows: map[string]*compiledFlow{}}
	manFile := issuer + "/" + ManifestFile
	data, ok := files[ManifestFile]
	if !ok {
		ps.add(manFile, 0, "missing manifest")
		return nil, ps.list
	}
	man, ok := decodeManifest(manFile, data, ps)
	if !ok {
		return nil, ps.list
	}
	if man.ID != issuer {
		ps.add(manFile, 1, "id %q does not match the folder name %q", man.ID, issuer)
	}
	c.man = man
	c.settings = flow.Settings{TTL: man.TTL, StepTimeout: man.StepTimeout, WithoutLEN: man.WithoutLEN}
	if man.WithoutLEN {
		c.framing = felica.WithoutLEN
	}
	for _, lib := range man.Libraries {
		if ch := compileChunk(issuer, lib, files, manFile, ps); ch != nil {
			c.libraries = append(c.libraries, ch)
		}
	}
	if len(ps.list) > 0 {
		return nil, ps.list // every flow runs the libraries: nothing more can be checked
	}
	seen := map[string]bool{}
	for _, op := range man.Operations {
		if seen[op.Flow.Path] {
			continue
		}
		seen[op.Flow.Path] = true
		if ch := compileChunk(issuer, op.Flow, files, manFile, ps); ch != nil {
			c.flowFiles = append(c.flowFiles, ch)
		}
	}
	// The flow files that compiled are checked on, so that one broken file
	// does not hide the others' problems; a flow file that fails as it
	// loads is dropped and the rest loaded again.
	probe, err := newRunner(c, logger, nil)
	for err != nil {
		var ce *chunkError
		if !errors.As(err, &ce) {
			ps.add(manFile, 0, "%v", err)
			return nil, ps.list
		}
		ps.add(ce.file, luaLine(ce.msg), "%s", stripPosition(ce.msg))
		before := len(c.flowFiles)
		c.flowFiles = slices.DeleteFunc(c.flowFiles, func(ch *chunk) bool { return ch.file == ce.file })
		if len(c.flowFiles) == before {
			return nil, ps.list // a library failed: every flow needs it
		}
		probe, err = newRunner(c, logger, nil)
	}
	defer probe.L.Close()
	for _, ch := range c.flowFiles {
		if fl := c.buildFlow(ch, probe.flows[ch.file], ps); fl != nil {
			c.flows[ch.file] = fl
		}
	}
	c.buildOperations(manFile, ps)
	c.buildQuirks(manFile, ps)
	c.lint(probe.L, ps)
	if len(ps.list) > 0 {
		return nil, ps.list
	}
	return c, nil
}

// compileChunk parses and compiles one Lua file named by the manifest.
func compileChunk(issuer string, ref fileRef, files map[string][]byte, manFile string, ps *problems) *chunk {
	rel := path.Clean(ref.Path)
	src, ok := files[rel]
	if !ok || strings.HasPrefix(rel, "../") {
		ps.add(manFile, ref.Line, "no file %q in the issuer folder", ref.Path)
		return nil
	}
	name := issuer + "/" + rel
	stmts, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), name))
		line := luaLine(msg)
		if line == 0 { // "at EOF": the file ended too soon
			line = bytes.Count(src, []byte("\n")) + 1
			if bytes.HasSuffix(src, []byte("\n")) {
				line--
			}
		}
		msg = luaSyntaxRe.ReplaceAllString(strings.TrimSuffix(stripPosition(msg), "syntax error"), "")
		ps.add(name, line, "syntax error %s", strings.Trim(strings.Join(strings.Fields(msg), " "), ": "))
		return nil
	}
	rewriteConcat(reflect.ValueOf(stmts))
	proto, err := lua.Compile(stmts, name)
	if err != nil {
		ps.add(name, luaLine(err.Error()), "%s", stripPosition(err.Error()))
		return nil
	}
	ch := &chunk{file: name, proto: proto, strings: map[string]int{}, lint: lintChunk(stmts)}
	collectStrings(reflect.ValueOf(stmts), ch.strings)
	return ch
}

var stringExprType = reflect.TypeOf(&luaast.StringExpr{})

// collectStrings records the first line of every string literal (and table
// key written as a name) of a parsed chunk, so that problems found in the
// table a flow returns can name their line. Load time only.
func collectStrings(v reflect.Value, out map[string]int) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Type() == stringExprType {
			s := v.Interface().(*luaast.StringExpr)
			if _, seen := out[s.Value]; !seen {
				out[s.Value] = s.Line()
			}
			return
		}
		collectStrings(v.Elem(), out)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				collectStrings(v.Field(i), out)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			collectStrings(v.Index(i), out)
		}
	}
}

// where finds the file and line of a string of a flow: in the flow's own
// file, else in a library (shared steps are often built there).
func (c *compiled) where(ch *chunk, s string, fallback int) (string, int) {
	if l, ok := ch.strings[s]; ok {
		return ch.file, l
	}
	for _, lib := range c.libraries {
		if l, ok := lib.strings[s]; ok {
			return lib.file, l
		}
	}
	return ch.file, fallback
}

// lineOf finds the line of a string in a chunk, else fallback.
func (ch *chunk) lineOf(s string, fallback int) int {
	if l, ok := ch.strings[s]; ok {
		return l
	}
	return fallback
}

func (c *compiled) buildFlow(ch *chunk, tbl *lua.LTable, ps *problems) *compiledFlow {
	before := len(ps.list)
	fl := &compiledFlow{file: ch.file, steps: map[string]*compiledStep{}}
	var start string
	tbl.ForEach(func(k, v lua.LValue) {
		switch k.String() {
		case "start":
			start = v.String()
		case "steps":
		default:
			ps.add(ch.file, ch.lineOf(k.String(), 1), "flow: unknown key %q (want start, steps)", k.String())
		}
	})
	steps, ok := tbl.RawGetString("steps").(*lua.LTable)
	if !ok {
		ps.add(ch.file, 1, "flow: steps must be a table of named steps")
		return nil
	}
	type pending struct {
		step *compiledStep
		list *lua.LTable
	}
	var todo []pending
	steps.ForEach(func(k, v lua.LValue) {
		name := k.String()
		line := ch.lineOf(name, 1)
		st, ok := v.(*lua.LTable)
		if _, isString := k.(lua.LString); !isString || !ok {
			ps.add(ch.file, line, "step %s: want name = { run = ..., after = ..., next = {...} }", name)
			return
		}
		cs := &compiledStep{name: name, key: stepKey{ch.file, name}, line: line}
		st.ForEach(func(sk, sv lua.LValue) {
			switch sk.String() {
			case "run", "after":
				fn, isFn := sv.(*lua.LFunction)
				if !isFn {
					ps.add(ch.file, line, "step %s: %s must be a function", name, sk.String())
					return
				}
				if sk.String() == "run" {
					cs.hasRun = true
				} else {
					cs.hasAfter = true
				}
				if fn.Proto != nil && cs.line == 1 {
					cs.line = fn.Proto.LineDefined
				}
			case "next":
			default:
				ps.add(ch.file, ch.lineOf(sk.String(), line), "step %s: unknown key %q (want run, after, next)", name, sk.String())
			}
		})
		list, ok := st.RawGetString("next").(*lua.LTable)
		if !ok || list.Len() == 0 {
			ps.add(ch.file, line, "step %s: next must list at least one transition", name)
			return
		}
		fl.steps[name] = cs
		todo = append(todo, pending{cs, list})
	})
	for _, p := range todo {
		c.buildTransitions(ch, fl, p.step, p.list, ps)
	}
	if start == "" {
		ps.add(ch.file, 1, "flow: missing start")
	} else if fl.start = fl.steps[start]; fl.start == nil {
		ps.add(ch.file, ch.lineOf(start, 1), "flow: start step %q does not exist", start)
	}
	if len(ps.list) > before {
		return nil
	}
	return fl
}

func (c *compiled) buildTransitions(ch *chunk, fl *compiledFlow, cs *compiledStep, list *lua.LTable, ps *problems) {
	for i := 1; i <= list.Len(); i++ {
		t, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			ps.add(ch.file, cs.line, "step %s: next[%d] is not a table", cs.name, i)
			continue
		}
		tr := transition{file: ch.file, line: cs.line}
		targets := 0
		t.ForEach(func(k, v lua.LValue) {
			key := k.String()
			switch key {
			case "when":
				tr.src = v.String()
				tr.file, tr.line = c.where(ch, tr.src, cs.line)
			case "go":
				tr.target = v.String()
				targets++
			case "done", "fail":
				n, isNum := v.(lua.LNumber)
				if !isNum {
					ps.add(ch.file, ch.lineOf(key, cs.line), "step %s: %s wants a status code", cs.name, key)
					return
				}
				tr.final, tr.status = true, int(n)
				targets++
				if _, known := flow.StatusMessage(tr.status); !known || (key == "fail") == (tr.status == 0) {
					file, line := c.finalLine(ch, key, tr.status, cs.line)
					ps.add(file, line, "step %s: %s = %d is not a valid status code here (%s)", cs.name, key, tr.status, validCodes())
				}
			case "message":
				tr.message = v.String()
			case "balance":
				src := v.String()
				prog, err := compileExpr(src, Env{}, guardInt)
				if err != nil {
					file, line := c.where(ch, src, cs.line)
					ps.add(file, line, "step %s: balance %q: %v", cs.name, src, err)
					return
				}
				tr.balance = prog
				cs.needs |= c.checkUsage(ch, cs, src, usageOf(prog), ps)
			default:
				ps.add(ch.file, ch.lineOf(key, cs.line), "step %s: unknown key %q in a transition (want when, go, done, fail, message, balance)", cs.name, key)
			}
		})
		if targets != 1 {
			ps.add(tr.file, tr.line, "step %s: next[%d] needs exactly one of go, done, fail", cs.name, i)
			continue
		}
		if tr.src != "" {
			prog, err := compileExpr(tr.src, Env{}, guardBool)
			if err != nil {
				ps.add(tr.file, tr.line, "step %s: guard %q: %v", cs.name, tr.src, err)
				continue
			}
			tr.when, tr.operands = prog, operandsOf(prog, Env{})
			cs.needs |= c.checkUsage(ch, cs, tr.src, usageOf(prog), ps)
		} else if i < list.Len() {
			ps.add(ch.file, cs.line, "step %s: next[%d] has no guard, so the transitions after it never run", cs.name, i)
		}
		cs.next = append(cs.next, tr)
	}
	for i := range cs.next {
		tr := &cs.next[i]
		if tr.final {
			continue
		}
		if tr.to = fl.steps[tr.target]; tr.to == nil {
			file, line := c.where(ch, tr.target, cs.line)
			ps.add(file, line, "step %s: go to unknown step %q", cs.name, tr.target)
		}
	}
}

// checkUsage rejects settings and quirk parameters the manifest does not
// define, and returns the facts the expression needs.
func (c *compiled) checkUsage(ch *chunk, cs *compiledStep, src string, u usage, ps *problems) factSet {
	for _, s := range u.settings {
		if _, ok := c.man.Settings[s]; !ok {
			file, line := c.where(ch, src, cs.line)
			ps.add(file, line, "step %s: settings.%s is not in the manifest's settings", cs.name, s)
		}
	}
	for _, p := range u.params {
		if _, ok := c.man.Params[p]; !ok {
			file, line := c.where(ch, src, cs.line)
			ps.add(file, line, "step %s: quirk.%s is not in the manifest's params", cs.name, p)
		}
	}
	return u.facts
}

func (c *compiled) buildOperations(manFile string, ps *problems) {
	c.ops = map[string]*operation{}
	c.names = map[flow.Endpoint]map[string]string{}
	c.defaults = map[flow.Endpoint]map[string]string{}
	for _, o := range c.man.Operations {
		fl := c.flows[c.issuer+"/"+path.Clean(o.Flow.Path)]
		if fl == nil {
			continue // its file already has a problem
		}
		if _, dup := c.ops[o.Name]; dup {
			ps.add(manFile, o.Line, "operation %s defined twice", o.Name)
			continue
		}
		c.ops[o.Name] = &operation{name: o.Name, flow: fl}
		names := c.names[o.Endpoint]
		if names == nil {
			names = map[string]string{}
			c.names[o.Endpoint] = names
		}
		for _, n := range append([]string{o.Name}, o.Aliases...) {
			if prev, dup := names[n]; dup {
				ps.add(manFile, o.Line, "%s on %s already names operation %s", n, o.Endpoint, prev)
				continue
			}
			names[n] = o.Name
		}
		if o.Default == "" {
			continue
		}
		defs := c.defaults[o.Endpoint]
		if defs == nil {
			defs = map[string]string{}
			c.defaults[o.Endpoint] = defs
		}
		if prev, dup := defs[o.Default]; dup {
			ps.add(manFile, o.Line, "default %s on %s already goes to %s", o.Default, o.Endpoint, prev)
			continue
		}
		defs[o.Default] = o.Name
	}
}

func (c *compiled) buildQuirks(manFile string, ps *problems) {
	for _, q := range c.man.Quirks {
		prog, err := compileExpr(q.When, QuirkEnv{}, guardBool)
		if err != nil {
			ps.add(manFile, q.Line, "quirk %s: when %q: %v", q.Name, q.When, err)
			continue
		}
		for k := range q.Set {
			if _, ok := c.man.Params[k]; !ok {
				ps.add(manFile, q.SetLines[k], "quirk %s: sets %s, which is not in params", q.Name, k)
			}
		}
		c.quirks = append(c.quirks, compiledQuirk{name: q.Name, when: prog, src: q.When, line: q.Line, set: q.Set})
	}
}
