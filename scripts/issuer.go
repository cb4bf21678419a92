package scripts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/sam"
)

// version is one loaded issuer version serving Steps. Safe for concurrent
// use: the compiled flows are read-only and each Step borrows its own Lua
// state from pool.
type version struct {
	c      *compiled
	logger *slog.Logger
	// pool holds idle runners; a Step takes one or builds a fresh one.
	pool chan *runner
	// onError, when set, is told every step failure (ErrScript) the
	// version itself found; see Registry.RecordRuntimeError.
	onError func(operation string, err error)
	// sam serves the sam module and opens secure answers; nil: none.
	sam sam.SAM
}

func newVersion(c *compiled, logger *slog.Logger, onError func(operation string, err error), s sam.SAM) *version {
	return &version{c: c, logger: logger, pool: make(chan *runner, 2*runtime.GOMAXPROCS(0)), onError: onError, sam: s}
}

var _ flow.Issuer = (*version)(nil)

// ID is the issuer's id.
func (v *version) ID() string { return v.c.issuer }

// Version is the content hash of the issuer folder.
func (v *version) Version() string { return v.c.hash }

// Settings are the manifest's TTL, step limit and framing.
func (v *version) Settings() flow.Settings { return v.c.settings }

// Resolve maps a requested operation (or the endpoint's default) to its
// canonical name.
func (v *version) Resolve(endpoint flow.Endpoint, requested string, hasPurchase bool) (string, bool) {
	if requested != "" {
		name, ok := v.c.names[endpoint][requested]
		return name, ok
	}
	defs := v.c.defaults[endpoint]
	if name, ok := defs[defaultAlways]; ok {
		return name, true
	}
	rule := defaultWithoutPurchase
	if hasPurchase {
		rule = defaultWithPurchase
	}
	name, ok := defs[rule]
	return name, ok
}

func (v *version) take() (*runner, error) {
	select {
	case r := <-v.pool:
		return r, nil
	default:
		r, err := newRunner(v.c, v.logger, v.sam)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrScript, err)
		}
		return r, nil
	}
}

func (v *version) give(r *runner) {
	r.call = nil
	r.L.SetTop(0)
	select {
	case v.pool <- r:
	default:
		r.L.Close()
	}
}

// Step runs the operation's flow from where in.State left it: decode the
// answers, run the step's Lua, follow the first guard that holds, and go on
// through steps that send nothing until one sends a batch or the flow ends.
// A failure of the flow (ErrScript) is reported to the registry's run-time
// errors, unless ctx was done by then: the engine stopped the step and
// records that itself.
func (v *version) Step(ctx context.Context, in flow.Input) (flow.Result, error) {
	res, err := v.step(ctx, in)
	if err != nil && v.onError != nil && errors.Is(err, ErrScript) && ctx.Err() == nil {
		v.onError(in.Operation, err)
	}
	return res, err
}

func (v *version) step(ctx context.Context, in flow.Input) (res flow.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = flow.Result{}, fmt.Errorf("%w: %s: panic: %v", ErrScript, v.c.issuer, p)
		}
	}()
	op, ok := v.c.ops[in.Operation]
	if !ok {
		return flow.Result{}, fmt.Errorf("%w: %q", ErrUnknownOperation, in.Operation)
	}
	fl := op.flow
	st := &state{Step: fl.start.name}
	cur, fresh := fl.start, true
	defer func() {
		if err != nil && cur != nil {
			err = &flow.StepError{Step: cur.name, Err: err}
		}
	}()
	var resp map[string]Response
	if len(in.State) > 0 {
		if st, err = decodeState(in.State); err != nil {
			return flow.Result{}, err
		}
		if cur = fl.steps[st.Step]; cur == nil {
			return flow.Result{}, fmt.Errorf("%w: no step %q in %s", ErrState, st.Step, fl.file)
		}
		var cont []byte
		resp, res.Decisions, cont, err = decodeAnswers(st, in.Responses, v.c.framing, &secureSide{ctx: ctx, sam: v.sam})
		if err != nil {
			return flow.Result{}, err
		}
		if cont != nil {
			// sam.auth goes on: Authentication2 v2, in the same step.
			d := st.Batch[0]
			st.Batch = []cmdDesc{{Label: d.Label, Kind: kindAuth2}}
			res.Step, res.Commands, res.IDm = cur.name, [][]byte{cont}, st.IDm
			if res.State, err = st.encode(); err != nil {
				return flow.Result{}, err
			}
			return res, nil
		}
		fresh = false
	}
	r, err := v.take()
	if err != nil {
		return flow.Result{}, err
	}
	// The step's limit is the caller's: the engine stops a step by its
	// context once it used its StepTimeout of CPU (a wall clock here would
	// fail sound flows on a busy machine). A caller without a deadline
	// gets none.
	healthy := false
	defer func() {
		r.L.RemoveContext()
		// A state stopped by its context may have been left anywhere
		// inside a builtin: it is never pooled again.
		if healthy && ctx.Err() == nil {
			v.give(r)
		} else {
			r.L.Close()
		}
	}()
	r.L.SetContext(ctx)
	call := &stepCall{
		ctx:     ctx,
		in:      &in,
		st:      st,
		issuer:  v.c.issuer,
		framing: v.c.framing,
		system:  v.c.man.SystemCode,
		facts:   &facts{ctx: ctx, in: &in, st: st, settings: v.c.man.Settings},
	}
	r.call = call
	env := Env{
		IDm:      st.IDm,
		PMm:      st.PMm,
		Request:  requestFacts(&in),
		System:   int(v.c.man.SystemCode),
		Settings: v.c.man.Settings,
		Today:    dayOf(in.Now),
		Now:      int(in.Now.Unix()),
	}
	if call.quirk, err = v.quirkParams(r, st, env.Request); err != nil {
		return flow.Result{}, err
	}
	env.Quirk = call.quirk
	for hop := 0; ; hop++ {
		if hop >= maxStepHops {
			return flow.Result{}, fmt.Errorf("%w: %s: more than %d steps without a batch (a loop?)", ErrScript, fl.file, maxStepHops)
		}
		if fresh {
			resp = nil
			st.Batch = nil
			if cur.hasRun {
				if err := r.callStep(r.steps[cur.key].run, nil, fl.file, cur.name); err != nil {
					return flow.Result{}, err
				}
			}
			res.Decisions = append(res.Decisions, call.notes...)
			call.notes = nil
			if len(call.batch) == 0 && len(call.immediate) > 0 {
				// Commands that could not be sent are answered at once.
				resp, call.immediate = call.immediate, nil
			}
			if len(call.batch) > 0 {
				st.Step, st.Batch = cur.name, call.descs
				res.Step, res.Commands, res.Effects = cur.name, call.batch, call.effects
				res.IDm, res.Logs, res.Vars = st.IDm, call.logs, st.varsJSON()
				if res.State, err = st.encode(); err != nil {
					return flow.Result{}, err
				}
				healthy = true
				return res, nil
			}
		}
		if cur.hasAfter {
			if err := r.callStep(r.steps[cur.key].after, resp, fl.file, cur.name); err != nil {
				return flow.Result{}, err
			}
		}
		if err := call.facts.fetch(cur.needs); err != nil {
			return flow.Result{}, fmt.Errorf("%w: %s step %s: %v", ErrScript, fl.file, cur.name, err)
		}
		env.Resp, env.Vars = resp, st.Vars
		fillFacts(&env, call.facts)
		tr, err := v.choose(r, fl, cur, &env, &res)
		if err != nil {
			return flow.Result{}, err
		}
		if !tr.final {
			cur, fresh = tr.to, true
			continue
		}
		res.Step, res.Status, res.Message, res.Effects = cur.name, tr.status, tr.message, call.effects
		res.IDm, res.Logs, res.Vars = st.IDm, call.logs, st.varsJSON()
		if tr.balance != nil {
			out, err := runExpr(&r.guards, tr.balance, env)
			if err != nil {
				return flow.Result{}, fmt.Errorf("%w: %s:%d: step %s: balance: %v", ErrScript, tr.file, tr.line, cur.name, err)
			}
			b := int64(out.(int))
			res.Balance = &b
		}
		st.Step, st.Batch = cur.name, nil
		if res.State, err = st.encode(); err != nil {
			return flow.Result{}, err
		}
		healthy = true
		return res, nil
	}
}

func fillFacts(env *Env, f *facts) {
	env.Card, env.Purchase, env.Account = f.card, f.purchase, f.account
	env.Blacklisted, env.Attempts = f.blacklisted, f.attempts
}

// choose evaluates cur's guards in order and returns the first that holds.
func (v *version) choose(r *runner, fl *compiledFlow, cur *compiledStep, env *Env, res *flow.Result) (*transition, error) {
	// Boxed once for all the guards, and as a value: expr fetches a field
	// of an addressable struct by copying it to the heap.
	boxed := any(*env)
	var known operandValues
	for i := range cur.next {
		tr := &cur.next[i]
		if tr.when != nil {
			out, err := runExpr(&r.guards, tr.when, boxed)
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: step %s: guard %q: %v", ErrScript, tr.file, tr.line, cur.name, tr.src, err)
			}
			if held, _ := out.(bool); !held {
				res.Decisions = append(res.Decisions, decision(cur, tr, explain(&r.guards, tr.operands, boxed, &known), false))
				continue
			}
		}
		res.Decisions = append(res.Decisions, decision(cur, tr, explain(&r.guards, tr.operands, boxed, &known), true))
		return tr, nil
	}
	return nil, fmt.Errorf("%w: %s:%d: step %s: no guard held", ErrScript, fl.file, cur.line, cur.name)
}

// decision is one guard tried, for the trace: the step, the guard with
// the values it read, and where it led, or "no" when it did not hold.
func decision(cur *compiledStep, tr *transition, values string, held bool) string {
	when := tr.src
	if when == "" {
		when = "always"
	}
	switch {
	case !held:
		return cur.name + ": " + when + values + " → no"
	case !tr.final:
		return cur.name + ": " + when + values + " → " + tr.target
	case tr.status == flow.StatusOK:
		return cur.name + ": " + when + values + " → done"
	default:
		return fmt.Sprintf("%s: %s%s → fail %d", cur.name, when, values, tr.status)
	}
}

// quirkParams is the manifest's params overlaid by every quirk whose
// condition holds for the card as known.
func (v *version) quirkParams(r *runner, st *state, req RequestFacts) (map[string]any, error) {
	if len(v.c.quirks) == 0 {
		return v.c.man.Params, nil
	}
	env := QuirkEnv{IDm: st.IDm, PMm: st.PMm, Vars: st.Vars, Request: req}
	if req.HasContents {
		env.System = req.Contents.System
	}
	var params map[string]any
	boxed := any(env)
	for _, q := range v.c.quirks {
		out, err := runExpr(&r.guards, q.when, boxed)
		if err != nil {
			return nil, fmt.Errorf("%w: %s/%s:%d: quirk %s: %v", ErrScript, v.c.issuer, ManifestFile, q.line, q.name, err)
		}
		if held, _ := out.(bool); !held {
			continue
		}
		if params == nil {
			params = make(map[string]any, len(v.c.man.Params))
			for k, p := range v.c.man.Params {
				params[k] = p
			}
		}
		for k, p := range q.set {
			params[k] = p
		}
	}
	if params == nil {
		return v.c.man.Params, nil
	}
	return params, nil
}
