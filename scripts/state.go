package scripts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// state is what a session keeps between steps (flow.Result.State): the step
// waiting for answers, the batch it sent (to decode the answers), the card
// it talks to and the flow's variables.
type state struct {
	Step  string         `json:"s"`
	Batch []cmdDesc      `json:"b,omitempty"`
	IDm   string         `json:"i,omitempty"`
	PMm   string         `json:"p,omitempty"`
	Vars  map[string]any `json:"v,omitempty"`
}

// cmdDesc says how to decode the answer to one command of a batch.
type cmdDesc struct {
	Label string `json:"l"`
	Kind  string `json:"k"`
	IDm   string `json:"i,omitempty"`
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
