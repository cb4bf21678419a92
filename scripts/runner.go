package scripts

import (
	"context"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/flow"
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
	batch   [][]byte
	descs   []cmdDesc
	effects []flow.Effect
}

// newRunner builds a state and runs the version's libraries and flow files
// in it. Load-time problems come back as Problems by the caller.
func newRunner(c *compiled, logger *slog.Logger) (*runner, error) {
	r := &runner{L: newSandbox(), steps: map[stepKey]luaStep{}, flows: map[string]*lua.LTable{}, logger: logger}
	r.openModules()
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

// callStep runs fn(ctx) for the current call and reads ctx.vars back.
func (r *runner) callStep(fn *lua.LFunction, resp map[string]Response) error {
	c := r.call
	ctxTable := r.ctxTable(resp)
	r.L.Push(fn)
	r.L.Push(ctxTable)
	err := r.L.PCall(1, 0, nil)
	r.L.SetTop(0)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrScript, luaMessage(err))
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

func (r *runner) ctxTable(resp map[string]Response) *lua.LTable {
	c := r.call
	L := r.L
	t := L.CreateTable(0, 10)
	vars := L.CreateTable(0, len(c.st.Vars))
	for k, v := range c.st.Vars {
		vars.RawSetString(k, toLua(v))
	}
	t.RawSetString("vars", vars)
	t.RawSetString("idm", lua.LString(c.st.IDm))
	t.RawSetString("pmm", lua.LString(c.st.PMm))
	t.RawSetString("system", lua.LNumber(c.system))
	t.RawSetString("today", lua.LNumber(dayOf(c.in.Now)))
	t.RawSetString("now", lua.LNumber(c.in.Now.Unix()))
	t.RawSetString("request", r.requestTable())
	t.RawSetString("settings", mapToLua(L, c.facts.settings))
	t.RawSetString("quirk", mapToLua(L, c.quirk))
	if resp != nil {
		rt := L.CreateTable(0, len(resp))
		for label, a := range resp {
			rt.RawSetString(label, responseToLua(L, a))
		}
		t.RawSetString("resp", rt)
	}
	return t
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
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		name, ok := k.(lua.LString)
		if !ok {
			err = fmt.Errorf("vars: key %s is not a string", k)
			return
		}
		switch x := v.(type) {
		case lua.LNumber:
			out[string(name)] = normalizeNumber(float64(x))
		case lua.LBool:
			out[string(name)] = bool(x)
		case lua.LString:
			if len(x) > maxVarString || !utf8.ValidString(string(x)) {
				err = fmt.Errorf("vars.%s: strings must be UTF-8 of at most %d bytes (keep bytes as bin.hex)", name, maxVarString)
				return
			}
			out[string(name)] = string(x)
		default:
			err = fmt.Errorf("vars.%s: a %s cannot be kept in a session", name, v.Type())
		}
	})
	if err == nil && len(out) > maxVars {
		err = fmt.Errorf("vars: %d variables, at most %d", len(out), maxVars)
	}
	return out, err
}

// current returns the call in progress or raises a Lua error.
func (r *runner) current() *stepCall {
	if r.call == nil {
		r.L.RaiseError("only available while a step runs")
	}
	return r.call
}
