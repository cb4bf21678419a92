package scripts

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// stateSamples exercise every field of a state, every kind of variable and
// empty lists.
func stateSamples() map[string]*state {
	return map[string]*state{
		"minimal": {Step: "poll"},
		"typical": {Step: "write", Batch: []cmdDesc{{Label: "card", Kind: "read", IDm: "012E4C7A11223344"}, {Label: "poll", Kind: "poll"}},
			IDm: "012E4C7A11223344", PMm: "100B4B428485D0FF",
			Vars: map[string]any{"balance": 1200, "neg": -7, "rate": 0.25, "name": "Ünïcode", "empty": "", "ok": true, "no": false}},
		"secure": {Step: "auth", Batch: []cmdDesc{{Label: "rs", Kind: "requestServiceV2", Nodes: []uint16{0x1008, 0xFFFF, 0}}},
			Sam: []byte{0, 1, 2, 255}, Authed: true, Nodes: []uint16{0x1008, 0x1108},
			KeyVersions: map[uint16]uint16{0x1008: 3, 0xFFFF: 0xFFFF}},
	}
}

func TestStateRoundTrip(t *testing.T) {
	for name, st := range stateSamples() {
		b, err := st.encode()
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		got, err := decodeState(b)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if !reflect.DeepEqual(got, st) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", name, got, st)
		}
		again, _ := got.encode()
		if string(again) != string(b) {
			t.Errorf("%s: encodes differently the second time", name)
		}
	}
}

// A session in flight across the upgrade holds its state in the JSON of
// earlier versions: it reads, numbers as ints where integral.
func TestStateReadsEarlierJSON(t *testing.T) {
	got, err := decodeState([]byte(`{"s":"write","b":[{"l":"card","k":"read","i":"01"}],"i":"01","v":{"balance":1200,"rate":0.5,"ok":true,"name":"x"},"kv":{"4104":3},"a":true}`))
	want := &state{Step: "write", Batch: []cmdDesc{{Label: "card", Kind: "read", IDm: "01"}}, IDm: "01",
		Vars: map[string]any{"balance": 1200, "rate": 0.5, "ok": true, "name": "x"}, KeyVersions: map[uint16]uint16{4104: 3}, Authed: true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("JSON state read as %+v, %v; want %+v", got, err, want)
	}
}

func TestStateRefusesDamage(t *testing.T) {
	b, err := stateSamples()["typical"].encode()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := decodeState(b[:n]); !errors.Is(err, ErrState) {
			t.Fatalf("state cut to %d of %d bytes: %v, want ErrState", n, len(b), err)
		}
	}
	for name, bad := range map[string][]byte{
		"trailing byte":  append(b, 0),
		"unknown format": append([]byte{stateFormat + 1}, b[1:]...),
		"no step":        {stateFormat, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		if _, err := decodeState(bad); !errors.Is(err, ErrState) {
			t.Errorf("%s: %v, want ErrState", name, err)
		}
	}
	if _, err := (&state{Step: "s", Vars: map[string]any{"x": []int{1}}}).encode(); !errors.Is(err, ErrScript) {
		t.Errorf("a variable of another type encoded: %v", err)
	}
}

// FuzzDecodeState: no input panics, and whatever decodes encodes back to a
// state that decodes and encodes the same (a JSON state's empty lists come
// back nil).
func FuzzDecodeState(f *testing.F) {
	for _, st := range stateSamples() {
		b, _ := st.encode()
		f.Add(b)
	}
	f.Add([]byte(`{"s":"x","v":{"n":1e400}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		b, err := st.encode()
		if err != nil {
			return // a JSON state may hold what encode refuses
		}
		again, err := decodeState(b)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if b2, _ := again.encode(); string(b2) != string(b) {
			t.Fatalf("state %+v encodes differently after a round trip", st)
		}
	})
}

// BenchmarkStateRoundTrip: what every call pays to read the session's
// flow state and write it back, binary against the JSON of before.
func BenchmarkStateRoundTrip(b *testing.B) {
	st := stateSamples()["typical"]
	compact, _ := st.encode()
	legacy, _ := json.Marshal(st)
	b.Run("codec=binary", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			got, _ := decodeState(compact)
			_, _ = got.encode()
		}
	})
	b.Run("codec=json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			got, _ := decodeState(legacy)
			_, _ = json.Marshal(got)
		}
	})
}
