package scripts

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/tes-project/tes/internal/bincodec"
)

// state is what a session keeps between steps (flow.Result.State): the step
// waiting for answers, the batch it sent (to decode the answers), the card
// it talks to and the flow's variables; and, for a flow that authenticates,
// the SAM's sealed state, the authenticated node list and the key versions
// Request Service v2 reported.
//
// Sam is opaque and sealed by the SAM (it holds the session keys and the
// transaction number encrypted under the SAM's sealing key): it may be
// stored with the session. Nothing else here is derived from a key.
type state struct {
	Step  string         `json:"s"`
	Batch []cmdDesc      `json:"b,omitempty"`
	IDm   string         `json:"i,omitempty"`
	PMm   string         `json:"p,omitempty"`
	Vars  map[string]any `json:"v,omitempty"`
	// Sam is the SAM's sealed session state; nil before sam.auth.
	Sam []byte `json:"k,omitempty"`
	// Authed: Sam holds an authenticated session (Authentication2 v2
	// answered and checked) over Nodes.
	Authed bool `json:"a,omitempty"`
	// Nodes is the node list of the last sam.auth, in order: the block
	// elements of Read v2 and Write v2 index it.
	Nodes []uint16 `json:"n,omitempty"`
	// KeyVersions are the AES key versions Request Service v2 reported in
	// this operation, by node code; sam.auth takes them by default.
	KeyVersions map[uint16]uint16 `json:"kv,omitempty"`
}

// cmdDesc says how to decode the answer to one command of a batch.
type cmdDesc struct {
	Label string `json:"l"`
	Kind  string `json:"k"`
	IDm   string `json:"i,omitempty"`
	// Nodes are a Request Service v2 command's nodes, to file the key
	// versions of its answer under.
	Nodes []uint16 `json:"n,omitempty"`
}

// decodeState reads what encode wrote; a state that starts with '{' is the
// JSON of earlier versions, which sessions in flight across an upgrade
// still hold.
func decodeState(b []byte) (*state, error) {
	if len(b) > 0 && b[0] == '{' {
		return decodeJSONState(b)
	}
	r := bincodec.NewReader(b)
	r.Format(stateFormat, "state")
	st := &state{Step: r.Str()}
	if n := r.Count(); n > 0 {
		st.Batch = make([]cmdDesc, n)
		for i := range st.Batch {
			st.Batch[i] = cmdDesc{Label: r.Str(), Kind: r.Str(), IDm: r.Str(), Nodes: readNodes(&r)}
		}
	}
	st.IDm, st.PMm = r.Str(), r.Str()
	if n := r.Count(); n > 0 {
		st.Vars = make(map[string]any, n)
		for range n {
			name := r.Str()
			switch kind := r.Byte(); kind {
			case varInt:
				st.Vars[name] = int(r.Varint())
			case varFloat:
				st.Vars[name] = math.Float64frombits(r.Uvarint())
			case varString:
				st.Vars[name] = r.Str()
			case varFalse, varTrue:
				st.Vars[name] = kind == varTrue
			default:
				r.Fail("vars.%s of kind %d", name, kind)
			}
		}
	}
	st.Sam = r.Bytes()
	st.Authed = r.Bool()
	st.Nodes = readNodes(&r)
	if n := r.Count(); n > 0 {
		st.KeyVersions = make(map[uint16]uint16, n)
		for range n {
			node := uint16(r.Uvarint())
			st.KeyVersions[node] = uint16(r.Uvarint())
		}
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if st.Step == "" {
		return nil, fmt.Errorf("%w: no step", ErrState)
	}
	return st, nil
}

// stateFormat is encode's first byte; the JSON of earlier versions starts
// with '{'.
const stateFormat byte = 1

// The kinds of a variable's value in encode's form.
const (
	varInt byte = iota + 1
	varFloat
	varString
	varFalse
	varTrue
)

// encode is the state as a session keeps it: stateFormat, then the fields
// in the values of package bincodec, variables and key versions sorted so
// that one state always encodes the same. It is read at every call, which
// JSON made a fifth of the step's time.
func (st *state) encode() ([]byte, error) {
	b := make([]byte, 0, 128+len(st.Sam)+32*len(st.Vars))
	b = append(b, stateFormat)
	b = bincodec.AppendString(b, st.Step)
	b = bincodec.AppendCount(b, len(st.Batch))
	for _, c := range st.Batch {
		b = bincodec.AppendString(b, c.Label)
		b = bincodec.AppendString(b, c.Kind)
		b = bincodec.AppendString(b, c.IDm)
		b = appendNodes(b, c.Nodes)
	}
	b = bincodec.AppendString(b, st.IDm)
	b = bincodec.AppendString(b, st.PMm)
	b = bincodec.AppendCount(b, len(st.Vars))
	for _, name := range slices.Sorted(maps.Keys(st.Vars)) {
		b = bincodec.AppendString(b, name)
		switch v := st.Vars[name].(type) {
		case int:
			b = binary.AppendVarint(append(b, varInt), int64(v))
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: encode: vars.%s is not a finite number", ErrScript, name)
			}
			b = binary.AppendUvarint(append(b, varFloat), math.Float64bits(v))
		case string:
			b = bincodec.AppendString(append(b, varString), v)
		case bool:
			kind := varFalse
			if v {
				kind = varTrue
			}
			b = append(b, kind)
		default:
			return nil, fmt.Errorf("%w: encode: vars.%s holds a %T", ErrScript, name, v)
		}
	}
	b = bincodec.AppendBytes(b, st.Sam)
	b = bincodec.AppendBool(b, st.Authed)
	b = appendNodes(b, st.Nodes)
	b = bincodec.AppendCount(b, len(st.KeyVersions))
	for _, node := range slices.Sorted(maps.Keys(st.KeyVersions)) {
		b = binary.AppendUvarint(b, uint64(node))
		b = binary.AppendUvarint(b, uint64(st.KeyVersions[node]))
	}
	return b, nil
}

func appendNodes(b []byte, nodes []uint16) []byte {
	b = bincodec.AppendCount(b, len(nodes))
	for _, n := range nodes {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b
}

func readNodes(r *bincodec.Reader) []uint16 {
	n := r.Count()
	if n == 0 {
		return nil
	}
	nodes := make([]uint16, n)
	for i := range nodes {
		v := r.Uvarint()
		if v > math.MaxUint16 {
			r.Fail("node %d", v)
		}
		nodes[i] = uint16(v)
	}
	return nodes
}

// decodeJSONState reads a state in the JSON of earlier versions.
func decodeJSONState(b []byte) (*state, error) {
	var st state
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if st.Step == "" {
		return nil, fmt.Errorf("%w: no step", ErrState)
	}
	for k, v := range st.Vars {
		n, ok := v.(json.Number)
		if !ok {
			continue
		}
		if i, err := n.Int64(); err == nil {
			st.Vars[k] = int(i)
			continue
		}
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("%w: vars.%s: %v", ErrState, k, err)
		}
		st.Vars[k] = f
	}
	return &st, nil
}

// varsJSON is the flow's variables as JSON, for the trace; nil when there
// are none. Vars hold only what encode stores, so they always marshal.
func (st *state) varsJSON() []byte {
	if len(st.Vars) == 0 {
		return nil
	}
	b, err := json.Marshal(st.Vars)
	if err != nil {
		return nil
	}
	return b
}

// normalizeNumber keeps integral numbers as int so guards compare them with
// the typed int facts.
func normalizeNumber(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int(f)
	}
	return f
}
