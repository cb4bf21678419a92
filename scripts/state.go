package scripts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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

func decodeState(b []byte) (*state, error) {
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

func (st *state) encode() ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %v", ErrScript, err)
	}
	return b, nil
}

// normalizeNumber keeps integral numbers as int so guards compare them with
// the typed int facts.
func normalizeNumber(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int(f)
	}
	return f
}
