package scripts

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/flow"
	lua "github.com/yuin/gopher-lua"
)

// openModules registers the modules flows see: felica (command builders),
// bin (byte helpers), effect (ledger changes), ledger (lookups) and log.
// Each module raises on a field it does not have, so that a misspelt
// call (felica.wrte{...}) fails naming the field instead of as "attempt
// to call a nil value".
func (r *runner) openModules() {
	L := r.L
	module(L, "felica", map[string]lua.LGFunction{
		"polling":            r.luaPolling,
		"read":               r.luaRead,
		"write":              r.luaWrite,
		"request_service":    r.luaRequestService,
		"request_service_v2": r.luaRequestServiceV2,
		"raw":                r.luaRaw,
	})
	r.openSAM()
	module(L, "bin", binFuncs)
	effects := map[string]lua.LGFunction{}
	for name, kind := range effectNames {
		effects[name] = r.effectFunc(kind)
	}
	module(L, "effect", effects)
	module(L, "ledger", map[string]lua.LGFunction{
		"card":        r.luaLedgerCard,
		"purchase":    r.luaLedgerPurchase,
		"account":     r.luaLedgerAccount,
		"blacklisted": r.luaLedgerBlacklisted,
		"attempts":    r.luaLedgerAttempts,
	})
	L.SetGlobal("log", L.NewFunction(r.luaLog))
}

// module sets the global name to a table of funcs whose __index raises
// "unknown field name.key".
func module(L *lua.LState, name string, funcs map[string]lua.LGFunction) {
	t := L.SetFuncs(L.NewTable(), funcs)
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("unknown field %s.%s", name, L.ToStringMeta(L.Get(2)))
		return 0
	}))
	L.SetMetatable(t, meta)
	L.SetGlobal(name, t)
}

// effectNames maps the effect module's functions to the fixed vocabulary.
var effectNames = map[string]flow.EffectKind{
	"write_sent":                flow.WriteSent,
	"purchase_applied":          flow.PurchaseApplied,
	"purchase_pending":          flow.PurchasePending,
	"record_balance":            flow.RecordBalance,
	"park_sent":                 flow.ParkSent,
	"park_card":                 flow.ParkCard,
	"transfer_sent":             flow.TransferSent,
	"create_account":            flow.CreateAccount,
	"count_reader_mode_attempt": flow.CountReaderModeAttempt,
	"blacklist_idm":             flow.BlacklistIDm,
}

func (r *runner) effectFunc(kind flow.EffectKind) lua.LGFunction {
	return func(L *lua.LState) int {
		c := r.current()
		e := flow.Effect{Kind: kind}
		if opts, ok := L.Get(1).(*lua.LTable); ok {
			e.PurchaseID = optString(L, opts, "purchase", "")
			e.CardID = optString(L, opts, "card", "")
			e.IDm = optString(L, opts, "idm", "")
			e.Balance = int64(optInt(L, opts, "balance", 0))
			e.Counter = optInt(L, opts, "counter", 0)
		}
		c.effects = append(c.effects, e)
		return 0
	}
}

// addCommand appends a built frame to the step's batch.
func (r *runner) addCommand(L *lua.LState, opts *lua.LTable, kind, idm string, frame []byte, err error) int {
	c := r.current()
	label := optString(L, opts, "as", kind)
	if err != nil {
		L.RaiseError("felica.%s: %v", kind, err)
	}
	if len(c.immediate) > 0 || (len(c.descs) > 0 && c.descs[0].Kind == kindAuth) {
		L.RaiseError("felica.%s: sam.auth takes a batch of its own", kind)
	}
	if len(c.batch) >= maxBatch {
		L.RaiseError("felica.%s: a batch holds at most %d commands", kind, maxBatch)
	}
	for _, d := range c.descs {
		if d.Label == label {
			L.RaiseError("felica.%s: label %q used twice in one batch", kind, label)
		}
	}
	c.batch = append(c.batch, frame)
	c.descs = append(c.descs, cmdDesc{Label: label, Kind: kind, IDm: idm})
	return 0
}

func (r *runner) luaPolling(L *lua.LState) int {
	opts := L.CheckTable(1)
	cmd := felica.PollingCommand{
		SystemCode:  felica.SystemCode(optInt(L, opts, "system", 0xFFFF)),
		RequestCode: felica.RequestCode(optInt(L, opts, "request", 0)),
		TimeSlot:    uint8(optInt(L, opts, "slot", 0)),
	}
	frame, err := cmd.Append(nil, r.current().framing)
	return r.addCommand(L, opts, kindPolling, "", frame, err)
}

// cardIDm is the IDm a command is sent to: opts.idm, else the session's.
func (r *runner) cardIDm(L *lua.LState, opts *lua.LTable, kind string) (felica.IDm, string) {
	s := optString(L, opts, "idm", r.current().st.IDm)
	idm, err := felica.ParseIDm(s)
	if err != nil {
		L.RaiseError("felica.%s: no card to address (poll first or give idm): %v", kind, err)
	}
	return idm, idm.String()
}

// blockList turns {{code, block[, data]}, ...} into a service list, block
// elements and, for writes, the data.
func blockList(L *lua.LState, opts *lua.LTable, kind string, withData bool) ([]felica.NodeCode, []felica.BlockElement, []byte) {
	list, ok := opts.RawGetString("blocks").(*lua.LTable)
	if !ok || list.Len() == 0 {
		L.RaiseError("felica.%s: blocks must be a list of {service, block%s}", kind, map[bool]string{true: ", data"}[withData])
	}
	var services []felica.NodeCode
	var elems []felica.BlockElement
	var data []byte
	for i := 1; i <= list.Len(); i++ {
		e, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			L.RaiseError("felica.%s: blocks[%d] is not a table", kind, i)
		}
		code, cok := e.RawGetInt(1).(lua.LNumber)
		block, bok := e.RawGetInt(2).(lua.LNumber)
		if !cok || !bok || code < 0 || code > 0xFFFF || block < 0 || block > 0xFFFF {
			L.RaiseError("felica.%s: blocks[%d] wants {service code, block number}", kind, i)
		}
		idx := -1
		for j, s := range services {
			if s == felica.NodeCode(code) {
				idx = j
			}
		}
		if idx < 0 {
			services = append(services, felica.NodeCode(code))
			idx = len(services) - 1
		}
		elems = append(elems, felica.BlockElement{Service: uint8(idx), Block: uint16(block)})
		if withData {
			d, ok := e.RawGetInt(3).(lua.LString)
			if !ok || len(d) != felica.BlockSize {
				L.RaiseError("felica.%s: blocks[%d][3] must be %d bytes of data", kind, i, felica.BlockSize)
			}
			data = append(data, d...)
		}
	}
	return services, elems, data
}

func (r *runner) luaRead(L *lua.LState) int {
	opts := L.CheckTable(1)
	idm, idmHex := r.cardIDm(L, opts, kindRead)
	services, elems, _ := blockList(L, opts, kindRead, false)
	frame, err := felica.ReadCommand{IDm: idm, Services: services, Blocks: elems}.Append(nil, r.current().framing)
	return r.addCommand(L, opts, kindRead, idmHex, frame, err)
}

func (r *runner) luaWrite(L *lua.LState) int {
	opts := L.CheckTable(1)
	idm, idmHex := r.cardIDm(L, opts, kindWrite)
	services, elems, data := blockList(L, opts, kindWrite, true)
	frame, err := felica.WriteCommand{IDm: idm, Services: services, Blocks: elems, Data: data}.Append(nil, r.current().framing)
	return r.addCommand(L, opts, kindWrite, idmHex, frame, err)
}

func (r *runner) luaRequestService(L *lua.LState) int {
	opts := L.CheckTable(1)
	idm, idmHex := r.cardIDm(L, opts, kindRequestService)
	list, ok := opts.RawGetString("nodes").(*lua.LTable)
	if !ok {
		L.RaiseError("felica.request_service: nodes must be a list of node codes")
	}
	var nodes []felica.NodeCode
	for i := 1; i <= list.Len(); i++ {
		n, ok := list.RawGetInt(i).(lua.LNumber)
		if !ok || n < 0 || n > 0xFFFF {
			L.RaiseError("felica.request_service: nodes[%d] is not a node code", i)
		}
		nodes = append(nodes, felica.NodeCode(n))
	}
	frame, err := felica.RequestServiceCommand{IDm: idm, Nodes: nodes}.Append(nil, r.current().framing)
	return r.addCommand(L, opts, kindRequestService, idmHex, frame, err)
}

// luaRequestServiceV2 is felica.request_service_v2{as, idm, nodes}: the
// card's AES key versions of the nodes (FFFF: no such node), which sam.auth
// then takes by default.
func (r *runner) luaRequestServiceV2(L *lua.LState) int {
	opts := L.CheckTable(1)
	idm, idmHex := r.cardIDm(L, opts, kindRequestServiceV2)
	nodes := nodeCodes(L, opts, "felica.request_service_v2", "nodes")
	frame, err := felica.RequestServiceV2Command{IDm: idm, Nodes: nodes}.Append(nil, r.current().framing)
	r.addCommand(L, opts, kindRequestServiceV2, idmHex, frame, err)
	c := r.current()
	d := &c.descs[len(c.descs)-1]
	d.Nodes = make([]uint16, len(nodes))
	for i, n := range nodes {
		d.Nodes[i] = uint16(n)
	}
	return 0
}

func (r *runner) luaRaw(L *lua.LState) int {
	opts := L.CheckTable(1)
	frame, err := hex.DecodeString(optString(L, opts, "hex", ""))
	if err == nil && (len(frame) == 0 || len(frame) > felica.MaxFrameLen) {
		err = fmt.Errorf("frame of %d bytes", len(frame))
	}
	return r.addCommand(L, opts, kindRaw, "", frame, err)
}

// maxLogLine bounds one flow log line: log(unpack(t)) of large strings
// must not build gigabytes.
const maxLogLine = 4096

// maxLogLines bounds the log() lines one step keeps for its trace and log.
const maxLogLines = 16

func (r *runner) luaLog(L *lua.LState) int {
	var b strings.Builder
	for i := 1; i <= L.GetTop() && b.Len() < maxLogLine; i++ {
		if i > 1 {
			b.WriteByte(' ')
		}
		b.WriteString(truncate(L.ToStringMeta(L.Get(i)).String(), maxLogLine-b.Len()+len("…")))
	}
	line := L.Where(1) + " " + truncate(b.String(), maxLogLine)
	if r.call == nil {
		// Top-level code of a file, run when a state is made: no session.
		r.logger.Debug("flow log", "message", line)
		return 0
	}
	if len(r.call.logs) < maxLogLines {
		r.call.logs = append(r.call.logs, line)
	}
	return 0
}

func (r *runner) fetch(L *lua.LState, want factSet) *facts {
	c := r.current()
	if err := c.facts.fetch(want); err != nil {
		L.RaiseError("%v", err)
	}
	return c.facts
}

func (r *runner) luaLedgerCard(L *lua.LState) int {
	f := r.fetch(L, needCard)
	if !f.card.Found {
		L.Push(lua.LNil)
		return 1
	}
	c := f.card
	t := L.CreateTable(0, 12)
	t.RawSetString("id", lua.LString(c.ID))
	t.RawSetString("status", lua.LString(c.Status))
	t.RawSetString("productCode", lua.LNumber(c.ProductCode))
	t.RawSetString("deviceId", lua.LString(c.DeviceID))
	t.RawSetString("expiry", lua.LString(c.Expiry))
	t.RawSetString("expiryDay", lua.LNumber(c.ExpiryDay))
	if c.HasBalance {
		t.RawSetString("balance", lua.LNumber(c.Balance))
	}
	un := L.CreateTable(len(c.Uncertain), 0)
	for _, p := range c.Uncertain {
		un.Append(purchaseToLua(L, p))
	}
	t.RawSetString("uncertain", un)
	t.RawSetString("parkPending", lua.LBool(c.ParkPending))
	if c.ParkPending {
		t.RawSetString("parkPendingBalance", lua.LNumber(c.ParkPendingBalance))
		t.RawSetString("parkPendingCounter", lua.LNumber(c.ParkPendingCounter))
	}
	L.Push(t)
	return 1
}

func purchaseToLua(L *lua.LState, p PurchaseFacts) *lua.LTable {
	t := L.CreateTable(0, 6)
	t.RawSetString("id", lua.LString(p.ID))
	t.RawSetString("cardId", lua.LString(p.CardID))
	t.RawSetString("amount", lua.LNumber(p.Amount))
	t.RawSetString("kind", lua.LString(p.Kind))
	t.RawSetString("status", lua.LString(p.Status))
	t.RawSetString("expectedCounter", lua.LNumber(p.ExpectedCounter))
	return t
}

func (r *runner) luaLedgerPurchase(L *lua.LState) int {
	f := r.fetch(L, needPurchase)
	if !f.purchase.Found {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(purchaseToLua(L, f.purchase))
	return 1
}

func (r *runner) luaLedgerAccount(L *lua.LState) int {
	f := r.fetch(L, needAccount)
	if !f.account.Found {
		L.Push(lua.LNil)
		return 1
	}
	t := L.CreateTable(0, 4)
	t.RawSetString("id", lua.LString(f.account.ID))
	t.RawSetString("balance", lua.LNumber(f.account.Balance))
	t.RawSetString("pending", lua.LBool(f.account.Pending))
	t.RawSetString("expectedCounter", lua.LNumber(f.account.ExpectedCounter))
	L.Push(t)
	return 1
}

func (r *runner) luaLedgerBlacklisted(L *lua.LState) int {
	L.Push(lua.LBool(r.fetch(L, needBlacklisted).blacklisted))
	return 1
}

func (r *runner) luaLedgerAttempts(L *lua.LState) int {
	L.Push(lua.LNumber(r.fetch(L, needAttempts).attempts))
	return 1
}

func optString(L *lua.LState, t *lua.LTable, key, def string) string {
	switch v := t.RawGetString(key).(type) {
	case *lua.LNilType:
		return def
	case lua.LString:
		return string(v)
	default:
		L.RaiseError("%s must be a string, got %s", key, v.Type())
	}
	return def
}

func optInt(L *lua.LState, t *lua.LTable, key string, def int) int {
	switch v := t.RawGetString(key).(type) {
	case *lua.LNilType:
		return def
	case lua.LNumber:
		if float64(v) != float64(int64(v)) {
			L.RaiseError("%s must be an integer, got %v", key, v)
		}
		return int(v)
	default:
		L.RaiseError("%s must be a number, got %s", key, v.Type())
	}
	return def
}
