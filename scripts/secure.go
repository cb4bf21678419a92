package scripts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/sam"
	lua "github.com/yuin/gopher-lua"
)

// The secure side of flows: the sam Lua module (auth, read, write,
// authenticated) and the decoding of the answers to the commands it builds.
// Every key stays in the SAM; a flow and the session see the SAM's sealed
// state (state.Sam), frames, status flags and block data, never a key.
//
// A sam.auth spans two round trips inside one step: the Authentication1 v2
// answer is checked here and the Authentication2 v2 command goes out at once,
// without running the step's Lua; the step's after and guards run when the
// Authentication2 v2 answer is in. An answer that does not authenticate is
// no answer (Answered false, NotAuthentic true): a flow never sees data that
// the card's MAC does not vouch for.

// secureSide is what decoding a batch needs of the SAM.
type secureSide struct {
	ctx context.Context
	sam sam.SAM
}

// decode checks and opens the answer to one secure command. It returns the
// Response, a note for the trace, and for the Authentication1 v2 answer of
// a sam.auth the Authentication2 v2 command to send next. An error is a
// fault that is no card's (no SAM, a state that does not open, the step's
// context done): the operation ends with 921.
func (s *secureSide) decode(st *state, d cmdDesc, frame []byte) (Response, string, []byte, error) {
	r := Response{Kind: d.Kind}
	if d.Kind == kindAuth2 {
		r.Kind = kindAuth
	}
	if len(frame) == 0 {
		if d.Kind == kindAuth2 || d.Kind == kindAuth {
			st.Authed = false
		}
		return r, "", nil, nil
	}
	if s == nil || s.sam == nil {
		return r, "", nil, fmt.Errorf("%w: %s: %s answered but this server has no SAM", ErrScript, d.Label, d.Kind)
	}
	switch d.Kind {
	case kindAuth:
		step, err := s.sam.ContinueAuth(s.ctx, st.Sam, frame)
		if err != nil {
			st.Authed = false
			return refusedAnswer(r, d, err)
		}
		st.Sam = step.State
		return r, d.Label + ": Authentication1 v2 answer authentic; Authentication2 v2 follows", step.Frame, nil
	case kindAuth2:
		done, err := s.sam.FinishAuth(s.ctx, st.Sam, frame)
		if err != nil {
			st.Authed = false
			return refusedAnswer(r, d, err)
		}
		st.Sam, st.Authed = done.State, true
		r.Answered, r.Valid, r.OK = true, true, true
		return r, fmt.Sprintf("%s: card authenticated over nodes %s", d.Label, nodeText(st.Nodes)), nil, nil
	}
	opened, err := s.sam.Open(s.ctx, st.Sam, frame)
	if err != nil {
		return refusedAnswer(r, d, err)
	}
	want := felica.CodeReadV2Response
	if d.Kind == kindWriteV2 {
		want = felica.CodeWriteV2Response
	}
	st.Sam = opened.State
	if opened.Code != want {
		r.Error = fmt.Sprintf("%s answers another command", opened.Code)
		return r, d.Label + ": " + r.Error + " (no answer)", nil, nil
	}
	r.Answered, r.Valid = true, true
	r.SF1, r.SF2, r.OK = int(opened.Status.SF1), int(opened.Status.SF2), opened.Status.OK()
	note := fmt.Sprintf("%s: %s answer authentic: status %s", d.Label, opened.Code, opened.Status)
	if d.Kind == kindReadV2 {
		r.Blocks = make([][]byte, 0, len(opened.Data)/felica.BlockSize)
		var b strings.Builder
		for off := 0; off+felica.BlockSize <= len(opened.Data); off += felica.BlockSize {
			blk := opened.Data[off : off+felica.BlockSize]
			r.Blocks = append(r.Blocks, blk)
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%X", blk)
		}
		if r.OK {
			note += fmt.Sprintf(" data=[%s]", b.String())
		}
	}
	return r, note, nil, nil
}

// refusedAnswer turns a SAM's refusal of an answer into no answer. Only the card's
// faults are: an answer that does not authenticate or is malformed. Any
// other error (the state, the context) ends the step.
func refusedAnswer(r Response, d cmdDesc, err error) (Response, string, []byte, error) {
	switch {
	case errors.Is(err, sam.ErrNotAuthentic):
		r.NotAuthentic = true
		r.Error = err.Error()
		return r, d.Label + ": answer does not authenticate (no answer): " + r.Error, nil, nil
	case errors.Is(err, sam.ErrMalformedAnswer):
		r.Error = err.Error()
		return r, d.Label + ": answer is malformed (no answer): " + r.Error, nil, nil
	}
	return r, "", nil, fmt.Errorf("%w: %s: %w", ErrScript, d.Label, err)
}

func nodeText(nodes []uint16) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("%04X", n)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// openSAM registers the sam module.
func (r *runner) openSAM() {
	module(r.L, "sam", map[string]lua.LGFunction{
		"auth":          r.luaSamAuth,
		"read":          r.luaSamRead,
		"write":         r.luaSamWrite,
		"authenticated": r.luaSamAuthenticated,
	})
}

// samOf returns the version's SAM or raises.
func (r *runner) samOf(L *lua.LState, fn string) sam.SAM {
	if r.sam == nil {
		L.RaiseError("sam.%s: this server has no SAM (no key store is configured: tes serve --keys)", fn)
	}
	return r.sam
}

// luaSamAuth is sam.auth{as, idm, nodes = {code, ...}, keyVersions = {v, ...}}:
// mutual authentication with the card over the node list. keyVersions
// defaults to what Request Service v2 reported in this operation. It must be
// the only command of its batch. When the key store lacks a node's key at
// that version nothing is sent and the step goes on at once with
// resp.<as>.keyUnknown set.
func (r *runner) luaSamAuth(L *lua.LState) int {
	opts := L.CheckTable(1)
	s := r.samOf(L, "auth")
	c := r.current()
	if len(c.batch) > 0 || len(c.immediate) > 0 {
		L.RaiseError("sam.auth: takes a batch of its own")
	}
	label := optString(L, opts, "as", kindAuth)
	idm, idmHex := r.cardIDm(L, opts, "sam.auth")
	nodes := nodeCodes(L, opts, "sam.auth", "nodes")
	if len(nodes) == 0 || len(nodes) > felica.MaxAuthNodes {
		L.RaiseError("sam.auth: nodes must list 1..%d node codes", felica.MaxAuthNodes)
	}
	versions := make([]uint16, len(nodes))
	if list, ok := opts.RawGetString("keyVersions").(*lua.LTable); ok {
		if list.Len() != len(nodes) {
			L.RaiseError("sam.auth: keyVersions must hold one key version per node")
		}
		for i := range versions {
			v, ok := list.RawGetInt(i + 1).(lua.LNumber)
			if !ok || v < 0 || v > 0xFFFF || float64(v) != float64(int64(v)) {
				L.RaiseError("sam.auth: keyVersions[%d] is not a key version", i+1)
			}
			versions[i] = uint16(v)
		}
	} else {
		for i, n := range nodes {
			v, ok := c.st.KeyVersions[uint16(n)]
			if !ok {
				L.RaiseError("sam.auth: no key version for node %s: send felica.request_service_v2 first or give keyVersions", n)
			}
			versions[i] = v
		}
	}
	c.st.Sam, c.st.Authed, c.st.Nodes = nil, false, make([]uint16, len(nodes))
	for i, n := range nodes {
		c.st.Nodes[i] = uint16(n)
	}
	step, err := s.BeginAuth(c.ctx, sam.AuthRequest{Issuer: c.issuer, IDm: idm, Nodes: nodes, KeyVersions: versions, Framing: c.framing})
	if errors.Is(err, sam.ErrUnknownKeyVersion) {
		for _, d := range c.descs {
			if d.Label == label {
				L.RaiseError("sam.auth: label %q used twice in one batch", label)
			}
		}
		if c.immediate == nil {
			c.immediate = map[string]Response{}
		}
		c.immediate[label] = Response{Kind: kindAuth, KeyUnknown: true, Error: err.Error()}
		c.notes = append(c.notes, label+": not sent: "+err.Error())
		return 0
	}
	if err != nil {
		L.RaiseError("sam.auth: %v", err)
	}
	c.st.Sam = step.State
	return r.addCommand(L, opts, kindAuth, idmHex, step.Frame, nil)
}

func (r *runner) luaSamAuthenticated(L *lua.LState) int {
	L.Push(lua.LBool(r.current().st.Authed))
	return 1
}

// luaSamRead is sam.read{as, blocks = {{serviceCode, blockNumber}, ...}}: a
// Read v2 over the authenticated session; every service must be in the
// node list of sam.auth.
func (r *runner) luaSamRead(L *lua.LState) int {
	opts := L.CheckTable(1)
	s := r.samOf(L, "read")
	c := r.authed(L, "read")
	elems, _ := secureBlocks(L, opts, "sam.read", c.st.Nodes, false)
	step, err := s.SealRead(c.ctx, c.st.Sam, elems)
	if err != nil {
		L.RaiseError("sam.read: %v", err)
	}
	c.st.Sam = step.State
	return r.addCommand(L, opts, kindReadV2, "", step.Frame, nil)
}

// luaSamWrite is sam.write{as, blocks = {{serviceCode, blockNumber, data16}, ...}}:
// a Write v2 over the authenticated session, applied all or nothing.
func (r *runner) luaSamWrite(L *lua.LState) int {
	opts := L.CheckTable(1)
	s := r.samOf(L, "write")
	c := r.authed(L, "write")
	elems, data := secureBlocks(L, opts, "sam.write", c.st.Nodes, true)
	step, err := s.SealWrite(c.ctx, c.st.Sam, elems, data)
	clear(data)
	if err != nil {
		L.RaiseError("sam.write: %v", err)
	}
	c.st.Sam = step.State
	return r.addCommand(L, opts, kindWriteV2, "", step.Frame, nil)
}

// authed returns the call when its session is authenticated, or raises.
func (r *runner) authed(L *lua.LState, fn string) *stepCall {
	c := r.current()
	if !c.st.Authed || c.st.Sam == nil {
		L.RaiseError("sam.%s: the card is not authenticated (sam.auth first, and go on only when resp.<label>.ok)", fn)
	}
	return c
}

// nodeCodes reads a list of node codes from opts[key].
func nodeCodes(L *lua.LState, opts *lua.LTable, fn, key string) []felica.NodeCode {
	list, ok := opts.RawGetString(key).(*lua.LTable)
	if !ok {
		L.RaiseError("%s: %s must be a list of node codes", fn, key)
	}
	nodes := make([]felica.NodeCode, 0, list.Len())
	for i := 1; i <= list.Len(); i++ {
		n, ok := list.RawGetInt(i).(lua.LNumber)
		if !ok || n < 0 || n > 0xFFFF || float64(n) != float64(int64(n)) {
			L.RaiseError("%s: %s[%d] is not a node code", fn, key, i)
		}
		nodes = append(nodes, felica.NodeCode(n))
	}
	return nodes
}

// secureBlocks turns {{code, block[, data]}, ...} into block elements that
// index the authenticated node list, and the data for writes.
func secureBlocks(L *lua.LState, opts *lua.LTable, fn string, nodes []uint16, withData bool) ([]felica.BlockElement, []byte) {
	list, ok := opts.RawGetString("blocks").(*lua.LTable)
	if !ok || list.Len() == 0 {
		L.RaiseError("%s: blocks must be a list of {service, block%s}", fn, map[bool]string{true: ", data"}[withData])
	}
	elems := make([]felica.BlockElement, 0, list.Len())
	var data []byte
	for i := 1; i <= list.Len(); i++ {
		e, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			L.RaiseError("%s: blocks[%d] is not a table", fn, i)
		}
		code, cok := e.RawGetInt(1).(lua.LNumber)
		block, bok := e.RawGetInt(2).(lua.LNumber)
		if !cok || !bok || code < 0 || code > 0xFFFF || block < 0 || block > 0xFFFF {
			L.RaiseError("%s: blocks[%d] wants {service code, block number}", fn, i)
		}
		idx := -1
		for j, n := range nodes {
			if n == uint16(code) {
				idx = j
				break
			}
		}
		if idx < 0 {
			L.RaiseError("%s: blocks[%d]: service %04X is not in the authenticated node list %s", fn, i, uint16(code), nodeText(nodes))
		}
		elems = append(elems, felica.BlockElement{Service: uint8(idx), Block: uint16(block)})
		if withData {
			d, ok := e.RawGetInt(3).(lua.LString)
			if !ok || len(d) != felica.BlockSize {
				L.RaiseError("%s: blocks[%d][3] must be %d bytes of data", fn, i, felica.BlockSize)
			}
			data = append(data, d...)
		}
	}
	return elems, data
}
