package scripts

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/sam"
	lua "github.com/yuin/gopher-lua"
)

// runner is one sandboxed Lua state with an issuer version's files loaded.
// It is used by one goroutine at a time (the pool hands it out); call is set
// for the duration of one Step.
type runner struct {
	L      *lua.LState
	steps  map[stepKey]luaStep
	flows  map[string]*lua.LTable // flow file → the table it returned
	logger *slog.Logger
	call   *stepCall
	// ctxMeta gives every ctx an __index that builds its fields other
	// than vars the first time the script reads one: most steps read few
	// of them, and every field set in a table costs gopher-lua
	// allocations.
	ctxMeta *lua.LTable
	lazy    lazyCtx
	// guards runs the guard and quirk expressions of the state's calls.
	guards vm.VM
	// sam authenticates and seals for the sam module; nil: none configured.
	sam sam.SAM
}

// lazyCtx is the ctx of the Lua call in progress and the fields of it
// built so far. A ctx a script kept from an earlier call builds nothing.
type lazyCtx struct {
	table *lua.LTable
	resp  map[string]Response
	built lazyField
}

type lazyField uint16

const (
	lazyIDm lazyField = 1 << iota
	lazyPMm
	lazySystem
	lazyToday
	lazyNow
	lazyRequest
	lazySettings
	lazyQuirk
	lazyResp
)

var lazyFields = map[string]lazyField{
	"idm":      lazyIDm,
	"pmm":      lazyPMm,
	"system":   lazySystem,
	"today":    lazyToday,
	"now":      lazyNow,
	"request":  lazyRequest,
	"settings": lazySettings,
	"quirk":    lazyQuirk,
	"resp":     lazyResp,
}

type stepKey struct{ flow, step string }

type luaStep struct{ run, after *lua.LFunction }

// stepCall is one Step in progress.
type stepCall struct {
	ctx     context.Context
	in      *flow.Input
	st      *state
	facts   *facts
	quirk   map[string]any
	framing felica.Framing
	system  uint16
	issuer  string
	batch   [][]byte
	descs   []cmdDesc
	effects []flow.Effect
	logs    []string // log() lines, for the trace
	// immediate holds the answers of commands that could not be sent (a
	// sam.auth without a key): the step goes on at once with them.
	immediate map[string]Response
	// notes are what the trace shows of the SAM's decisions.
	notes []string
}

// newRunner builds a state and runs the version's libraries and flow files
// in it. Load-time problems come back as Problems by the caller.
func newRunner(c *compiled, logger *slog.Logger, s sam.SAM) (*runner, error) {
	r := &runner{L: newSandbox(), steps: map[stepKey]luaStep{}, flows: map[string]*lua.LTable{}, logger: logger, sam: s}
	r.openModules()
	r.ctxMeta = r.L.NewTable()
	r.ctxMeta.RawSetString("__index", r.L.NewFunction(r.luaCtxIndex))
	r.ctxMeta.RawSetString("__newindex", r.L.NewFunction(r.luaCtxNewIndex))
	// The files' top-level code runs here, at load and whenever the pool
	// makes a state: one that never returns must fail, not hang a reload,
	// tes check or a request.
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	r.L.SetContext(ctx)
	defer r.L.RemoveContext()
	for _, lib := range c.libraries {
		r.L.Push(r.L.NewFunctionFromProto(lib.proto))
		if err := r.L.PCall(0, 0, nil); err != nil {
			r.L.Close()
			return nil, &chunkError{file: lib.file, msg: luaMessage(err)}
		}
	}
	for _, fl := range c.flowFiles {
		r.L.Push(r.L.NewFunctionFromProto(fl.proto))
		if err := r.L.PCall(0, 1, nil); err != nil {
			r.L.Close()
			return nil, &chunkError{file: fl.file, msg: luaMessage(err)}
		}
		tbl, ok := r.L.Get(-1).(*lua.LTable)
		r.L.Pop(1)
		if !ok {
			r.L.Close()
			return nil, &chunkError{file: fl.file, msg: "a flow file must return a table"}
		}
		r.flows[fl.file] = tbl
		if steps, ok := tbl.RawGetString("steps").(*lua.LTable); ok {
			steps.ForEach(func(k, v lua.LValue) {
				st, ok := v.(*lua.LTable)
				if !ok {
					return
				}
				run, _ := st.RawGetString("run").(*lua.LFunction)
				after, _ := st.RawGetString("after").(*lua.LFunction)
				r.steps[stepKey{fl.file, k.String()}] = luaStep{run: run, after: after}
			})
		}
	}
	return r, nil
}

// chunkError is a Lua file that failed while it loaded.
type chunkError struct{ file, msg string }

func (e *chunkError) Error() string { return e.msg }

// callStep runs fn(ctx) for the current call, the step named step of the
// flow file, and reads ctx.vars back. A Lua error comes back as
// "file:line: step NAME: message" (the flow file's name when the error has
// no position).
func (r *runner) callStep(fn *lua.LFunction, resp map[string]Response, file, step string) error {
	c := r.call
	ctxTable := r.ctxTable(resp)
	r.L.Push(fn)
	r.L.Push(ctxTable)
	err := r.L.PCall(1, 0, nil)
	r.L.SetTop(0)
	r.lazy = lazyCtx{}
	if err != nil {
		msg := luaMessage(err)
		where := file
		if loc := luaPositionRe.FindStringIndex(msg); loc != nil {
			where, msg = strings.TrimRight(msg[:loc[1]], ": \t"), msg[loc[1]:]
		}
		return fmt.Errorf("%w: %s: step %s: %s", ErrScript, where, step, msg)
	}
	vars, ok := ctxTable.RawGetString("vars").(*lua.LTable)
	if !ok {
		return fmt.Errorf("%w: ctx.vars is no longer a table", ErrScript)
	}
	out, err := varsFromLua(vars)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrScript, err)
	}
	c.st.Vars = out
	return nil
}

// ctxTable builds the ctx of one Lua call: vars now, the rest when first
// read (luaCtxIndex).
func (r *runner) ctxTable(resp map[string]Response) *lua.LTable {
	c := r.call
	L := r.L
	t := L.CreateTable(0, 4)
	vars := L.CreateTable(0, len(c.st.Vars))
	for k, v := range c.st.Vars {
		vars.RawSetString(k, toLua(v))
	}
	t.RawSetString("vars", vars)
	t.Metatable = r.ctxMeta
	r.lazy = lazyCtx{table: t, resp: resp}
	return t
}

// luaCtxIndex is ctx's __index: it builds a lazy field of the current
// call's ctx once and stores it in the table, so that later reads, pairs
// and assignments see an ordinary field. A field the script set to nil
// after it was built stays nil.
func (r *runner) luaCtxIndex(L *lua.LState) int {
	t, _ := L.Get(1).(*lua.LTable)
	key, _ := L.Get(2).(lua.LString)
	field := lazyFields[string(key)]
	if r.call == nil || t == nil || t != r.lazy.table || field == 0 || r.lazy.built&field != 0 {
		L.Push(lua.LNil)
		return 1
	}
	r.lazy.built |= field
	c := r.call
	var v lua.LValue = lua.LNil
	switch field {
	case lazyIDm:
		v = lua.LString(c.st.IDm)
	case lazyPMm:
		v = lua.LString(c.st.PMm)
	case lazySystem:
		v = lua.LNumber(c.system)
	case lazyToday:
		v = lua.LNumber(dayOf(c.in.Now))
	case lazyNow:
		v = lua.LNumber(c.in.Now.Unix())
	case lazyRequest:
		v = r.requestTable()
	case lazySettings:
		v = mapToLua(L, c.facts.settings)
	case lazyQuirk:
		v = mapToLua(L, c.quirk)
	case lazyResp:
		if resp := r.lazy.resp; resp != nil {
			rt := L.CreateTable(0, len(resp))
			for label, a := range resp {
				rt.RawSetString(label, responseToLua(L, a))
			}
			v = rt
		}
	}
	if v != lua.LNil {
		t.RawSetString(string(key), v)
	}
	L.Push(v)
	return 1
}

// luaCtxNewIndex is ctx's __newindex: assigning a lazy field before it
// was read replaces it, as it would an ordinary field.
func (r *runner) luaCtxNewIndex(L *lua.LState) int {
	t := L.CheckTable(1)
	if key, ok := L.Get(2).(lua.LString); ok && t == r.lazy.table {
		r.lazy.built |= lazyFields[string(key)]
	}
	t.RawSet(L.Get(2), L.Get(3))
	return 0
}

func (r *runner) requestTable() *lua.LTable {
	in := r.call.in
	t := r.L.CreateTable(0, 7)
	t.RawSetString("endpoint", lua.LString(in.Endpoint))
	t.RawSetString("operation", lua.LString(in.Operation))
	t.RawSetString("cardId", lua.LString(in.Request.CardID))
	t.RawSetString("purchaseId", lua.LString(in.Request.PurchaseID))
	t.RawSetString("deviceId", lua.LString(in.Request.DeviceID))
	if cc := in.Request.CardContents; cc != nil {
		ct := r.L.CreateTable(0, 5)
		ct.RawSetString("serviceId", lua.LString(cc.CardServiceID))
		ct.RawSetString("system", lua.LNumber(cc.SystemCode))
		ct.RawSetString("idm", lua.LString(cc.IDm))
		ct.RawSetString("pmm", lua.LString(cc.PMm))
		areas := r.L.CreateTable(len(cc.Areas), 0)
		for _, a := range cc.Areas {
			at := r.L.CreateTable(0, 2)
			at.RawSetString("code", lua.LNumber(a.AreaCode))
			at.RawSetString("keyVersion", lua.LNumber(a.KeyVersion))
			areas.Append(at)
		}
		ct.RawSetString("areas", areas)
		t.RawSetString("contents", ct)
	}
	return t
}

func responseToLua(L *lua.LState, a Response) *lua.LTable {
	t := L.CreateTable(0, 12)
	t.RawSetString("kind", lua.LString(a.Kind))
	t.RawSetString("answered", lua.LBool(a.Answered))
	t.RawSetString("valid", lua.LBool(a.Valid))
	t.RawSetString("ok", lua.LBool(a.OK))
	t.RawSetString("error", lua.LString(a.Error))
	t.RawSetString("sf1", lua.LNumber(a.SF1))
	t.RawSetString("sf2", lua.LNumber(a.SF2))
	t.RawSetString("idm", lua.LString(a.IDm))
	t.RawSetString("pmm", lua.LString(a.PMm))
	t.RawSetString("system", lua.LNumber(a.System))
	blocks := L.CreateTable(len(a.Blocks), 0)
	for _, b := range a.Blocks {
		blocks.Append(lua.LString(b))
	}
	t.RawSetString("blocks", blocks)
	keys := L.CreateTable(len(a.KeyVersions), 0)
	for _, k := range a.KeyVersions {
		keys.Append(lua.LNumber(k))
	}
	t.RawSetString("keyVersions", keys)
	if a.Raw != nil {
		t.RawSetString("raw", lua.LString(a.Raw))
	}
	return t
}

func toLua(v any) lua.LValue {
	switch x := v.(type) {
	case int:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	}
	return lua.LNil
}

func mapToLua[V any](L *lua.LState, m map[string]V) *lua.LTable {
	t := L.CreateTable(0, len(m))
	for k, v := range m {
		t.RawSetString(k, toLua(any(v)))
	}
	return t
}

// varsFromLua keeps what a session can store: numbers, booleans and UTF-8
// strings, within the caps.
func varsFromLua(t *lua.LTable) (map[string]any, error) {
	out := map[string]any{}
	// Next, not ForEach: it hands back the table's own boxed keys instead
	// of boxing every key again.
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		name, ok := k.(lua.LString)
		if !ok {
			return nil, fmt.Errorf("vars: key %s is not a string", k)
		}
		switch x := v.(type) {
		case lua.LNumber:
			out[string(name)] = normalizeNumber(float64(x))
		case lua.LBool:
			out[string(name)] = bool(x)
		case lua.LString:
			if len(x) > maxVarString || !utf8.ValidString(string(x)) {
				return nil, fmt.Errorf("vars.%s: strings must be UTF-8 of at most %d bytes (keep bytes as bin.hex)", name, maxVarString)
			}
			out[string(name)] = string(x)
		default:
			return nil, fmt.Errorf("vars.%s: a %s cannot be kept in a session", name, v.Type())
		}
	}
	if len(out) > maxVars {
		return nil, fmt.Errorf("vars: %d variables, at most %d", len(out), maxVars)
	}
	return out, nil
}

// current returns the call in progress or raises a Lua error.
func (r *runner) current() *stepCall {
	if r.call == nil {
		r.L.RaiseError("only available while a step runs")
	}
	return r.call
}
