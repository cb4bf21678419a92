package sessioncodec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
)

// Sessions are the records every request reads and writes, and their trace
// grows with each step, so they are stored in a compact binary form rather
// than JSON: decoding it costs a fraction of JSON's time and garbage, and
// PutSession reads only the head of the stored record (Head) to check
// the revision and move the index entries.
//
// The form is Format, then the head fields, then the rest, each in
// the order of Encode. Integers are varints; strings and byte slices
// are a uvarint length then the bytes, where byte slices and lists store
// length+1 so that 0 can mean nil; times are time.Time's binary form, which
// keeps the instant and the zone offset as JSON did. A record that starts
// with '{' is JSON, as written by earlier versions, and still reads.
//
// Format 2 moved CardID into the head and added IDm after it, so that
// PutSession can release a session's claims from the head alone, and gave
// each trace entry the effects, log lines and variables of its step;
// format 1 records still read (they hold no claims).
//
// Format 3 took the trace out of the record: a backend stores each entry
// on its own (EncodeEntry), appended, and the head counts them (TraceLen),
// so a call rewrites a record of a few hundred bytes instead of the whole
// trace. The record keeps the last call's step. Records of formats 1 and 2
// still read, their trace with them (Decode); a backend moves that trace
// out when it next writes the session (Head.Legacy).
const Format byte = 3

// ErrCorrupt: a stored session record cannot be decoded.
var ErrCorrupt = errors.New("sessioncodec: corrupt session record")

// Head is what a backend's PutSession needs of the stored session.
type Head struct {
	Revision  uint64
	IssuerID  string
	DeviceID  string
	State     store.SessionState
	CreatedAt time.Time
	ExpiresAt time.Time
	PurgeAt   time.Time
	CardID    string
	IDm       string
	TraceLen  int
	format    byte
}

// Legacy reports whether the record is of format 1 or 2 (or JSON), which
// holds its trace: Decode returns it in Session.Trace.
func (h Head) Legacy() bool { return h.format < 3 }

// Session is the head as a session with id and only the head's fields.
func (h Head) Session(id string) store.Session {
	return store.Session{
		ID: id, Revision: h.Revision, IssuerID: h.IssuerID, DeviceID: h.DeviceID, State: h.State,
		CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt, PurgeAt: h.PurgeAt, CardID: h.CardID, IDm: h.IDm,
		TraceLen: h.TraceLen,
	}
}

// Encode appends the stored form of s to dst.
func Encode(dst []byte, s store.Session) []byte {
	w := encoder{b: dst}
	w.b = append(w.b, Format)
	w.uvarint(s.Revision)
	w.str(s.IssuerID)
	w.str(s.DeviceID)
	w.str(string(s.State))
	w.time(s.CreatedAt)
	w.time(s.ExpiresAt)
	w.time(s.PurgeAt)
	w.str(s.CardID)
	w.str(s.IDm)
	w.uvarint(uint64(s.TraceLen))

	w.str(s.ID)
	w.str(s.ActorID)
	w.str(s.Endpoint)
	w.str(s.Operation)
	w.str(s.PurchaseID)
	w.str(s.Version)
	w.str(string(s.EndReason))
	w.time(s.LastCallAt)
	w.time(s.EndedAt)
	w.bytes(omitEmpty(s.FlowState))
	w.commands(s.Batch)
	w.varint(int64(s.Steps))
	w.bytes(omitEmpty(s.LastRequest))
	w.reply(s.LastReply)
	w.moneyWrite(s.InFlight)
	w.str(s.Step)
	return w.b
}

// EncodeEntry appends the stored form of one trace entry to dst: Format,
// then its fields.
func EncodeEntry(dst []byte, e store.TraceEntry) []byte {
	w := encoder{b: append(dst, Format)}
	w.entry(e)
	return w.b
}

// DecodeEntry reads what EncodeEntry wrote; the result shares no memory
// with data.
func DecodeEntry(data []byte) (store.TraceEntry, error) {
	if len(data) == 0 || data[0] != Format {
		return store.TraceEntry{}, fmt.Errorf("%w: trace entry of unknown format", ErrCorrupt)
	}
	r := decoder{b: data[1:]}
	e := r.entry(Format)
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the trace entry", len(r.b))
	}
	if r.err != nil {
		return store.TraceEntry{}, r.err
	}
	return e, nil
}

func (w *encoder) entry(e store.TraceEntry) {
	w.time(e.At)
	w.varint(int64(e.Elapsed))
	w.str(e.Step)
	w.commands(e.Responses)
	w.varint(int64(e.DeviceCode))
	w.varint(int64(e.DeviceTime))
	w.strs(e.Decisions)
	w.commands(e.Commands)
	w.varint(int64(e.StatusCode))
	w.str(e.Message)
	w.strs(e.Effects)
	w.strs(e.Logs)
	w.str(e.Vars)
}

// Decode reads a whole stored session; the result shares no memory with
// data.
func Decode(data []byte) (store.Session, error) {
	var s store.Session
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &s); err != nil {
			return store.Session{}, err
		}
		s.TraceLen = len(s.Trace)
		if n := len(s.Trace); n > 0 {
			s.Step = s.Trace[n-1].Step
		}
		return s, nil
	}
	r := decoder{b: data}
	h := r.head()
	s = h.Session("")
	s.ID = r.str()
	s.ActorID = r.str()
	s.Endpoint = r.str()
	s.Operation = r.str()
	if h.format == 1 {
		s.CardID = r.str()
	}
	s.PurchaseID = r.str()
	s.Version = r.str()
	s.EndReason = store.EndReason(r.str())
	s.LastCallAt = r.time()
	s.EndedAt = r.time()
	s.FlowState = omitEmpty(r.bytes())
	s.Batch = r.commands()
	s.Steps = int(r.varint())
	s.LastRequest = omitEmpty(r.bytes())
	s.LastReply = r.reply()
	s.InFlight = r.moneyWrite()
	if h.format >= 3 {
		s.Step = r.str()
	} else if n, ok := r.count(); ok {
		s.Trace = make([]store.TraceEntry, n)
		for i := range s.Trace {
			s.Trace[i] = r.entry(h.format)
		}
		s.TraceLen = n
		s.Step = s.Trace[n-1].Step
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the record", len(r.b))
	}
	if r.err != nil {
		return store.Session{}, r.err
	}
	return s, nil
}

// DecodeHead reads only the head of a stored session.
func DecodeHead(data []byte) (Head, error) {
	if len(data) > 0 && data[0] == '{' {
		var s store.Session
		if err := json.Unmarshal(data, &s); err != nil {
			return Head{}, err
		}
		// JSON records predate claims: they hold none.
		return Head{Revision: s.Revision, IssuerID: s.IssuerID, DeviceID: s.DeviceID, State: s.State,
			CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, PurgeAt: s.PurgeAt}, nil
	}
	r := decoder{b: data}
	h := r.head()
	return h, r.err
}

// omitEmpty stores an empty slice as nil, as JSON's omitempty did.
func omitEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

type encoder struct{ b []byte }

func (w *encoder) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *encoder) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *encoder) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// bytes stores len+1, or 0 for nil.
func (w *encoder) bytes(b []byte) {
	if b == nil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(b)) + 1)
	w.b = append(w.b, b...)
}

// count stores a list's length+1, or 0 for a nil (or omitted) list.
func (w *encoder) count(n int, omit bool) {
	if omit {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(n) + 1)
}

// time stores a length byte, then time.Time's binary form.
func (w *encoder) time(t time.Time) {
	mark := len(w.b)
	w.b = append(w.b, 0)
	b, err := t.AppendBinary(w.b)
	if err != nil {
		// Only offsets that are not whole minutes fail, which no zone of
		// the tz database has; the instant survives in UTC.
		b, _ = t.UTC().AppendBinary(w.b)
	}
	b[mark] = byte(len(b) - mark - 1)
	w.b = b
}

// strs stores a list of strings; a nil or empty one reads back nil.
func (w *encoder) strs(list []string) {
	w.count(len(list), len(list) == 0)
	for _, s := range list {
		w.str(s)
	}
}

func (w *encoder) commands(cmds []store.Command) {
	w.count(len(cmds), len(cmds) == 0)
	for _, c := range cmds {
		w.str(c.ID)
		w.bytes(c.Frame)
	}
}

func (w *encoder) reply(r store.Reply) {
	w.varint(int64(r.StatusCode))
	w.str(r.StatusMessage)
	w.commands(r.Commands)
	if r.Balance == nil {
		w.b = append(w.b, 0)
	} else {
		w.b = append(w.b, 1)
		w.varint(*r.Balance)
	}
	w.str(r.CardAccountID)
}

func (w *encoder) moneyWrite(m *store.MoneyWrite) {
	if m == nil {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.str(m.PurchaseID)
	w.str(m.CardID)
	w.varint(int64(m.ExpectedCounter))
}

// decoder reads what encoder wrote. The first failure sticks: later reads
// return zero values, and err says what went wrong.
type decoder struct {
	b   []byte
	err error
}

func (r *decoder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	r.b = nil
}

func (r *decoder) head() Head {
	if len(r.b) == 0 || r.b[0] < 1 || r.b[0] > Format {
		r.fail("unknown format")
		return Head{}
	}
	h := Head{format: r.b[0]}
	r.b = r.b[1:]
	h.Revision = r.uvarint()
	h.IssuerID = r.str()
	h.DeviceID = r.str()
	h.State = store.SessionState(r.str())
	h.CreatedAt = r.time()
	h.ExpiresAt = r.time()
	h.PurgeAt = r.time()
	if h.format >= 2 {
		h.CardID = r.str()
		h.IDm = r.str()
	}
	if h.format >= 3 {
		h.TraceLen = r.count64()
	}
	return h
}

// count64 reads a count that no list follows (TraceLen).
func (r *decoder) count64() int {
	n := r.uvarint()
	if n > 1<<31 {
		r.fail("count %d", n)
		return 0
	}
	return int(n)
}

// entry reads a trace entry of a record of the given format.
func (r *decoder) entry(format byte) store.TraceEntry {
	var e store.TraceEntry
	e.At = r.time()
	e.Elapsed = time.Duration(r.varint())
	e.Step = r.str()
	e.Responses = r.commands()
	e.DeviceCode = int(r.varint())
	e.DeviceTime = time.Duration(r.varint())
	e.Decisions = r.strs()
	e.Commands = r.commands()
	e.StatusCode = int(r.varint())
	e.Message = r.str()
	if format >= 2 {
		e.Effects = r.strs()
		e.Logs = r.strs()
		e.Vars = r.str()
	}
	return e
}

func (r *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *decoder) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// take returns the next n bytes, aliasing the record.
func (r *decoder) take(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("length %d past the end", n)
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *decoder) str() string { return string(r.take(r.uvarint())) }

func (r *decoder) bytes() []byte {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	return append([]byte{}, r.take(n-1)...)
}

// count reads a list length; ok is false for a nil or empty list (every
// list of a session is omitempty in JSON, which read them back as nil).
// Every element takes at least one byte, which bounds what a corrupt
// length can allocate.
func (r *decoder) count() (int, bool) {
	n := r.uvarint()
	if n <= 1 {
		return 0, false
	}
	if n-1 > uint64(len(r.b)) {
		r.fail("list of %d past the end", n-1)
		return 0, false
	}
	return int(n - 1), true
}

func (r *decoder) time() time.Time {
	n := r.take(1)
	if n == nil {
		return time.Time{}
	}
	raw := r.take(uint64(n[0]))
	var t time.Time
	if err := t.UnmarshalBinary(raw); err != nil {
		r.fail("time: %v", err)
		return time.Time{}
	}
	// UnmarshalBinary takes nanoseconds past a second; only what encoder
	// writes is accepted, so that a record reads back as it was.
	var buf [16]byte
	if again, _ := t.AppendBinary(buf[:0]); !bytes.Equal(again, raw) {
		r.fail("time not in canonical form")
		return time.Time{}
	}
	return t
}

func (r *decoder) strs() []string {
	n, ok := r.count()
	if !ok {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = r.str()
	}
	return list
}

func (r *decoder) commands() []store.Command {
	n, ok := r.count()
	if !ok {
		return nil
	}
	cmds := make([]store.Command, n)
	for i := range cmds {
		cmds[i] = store.Command{ID: r.str(), Frame: r.bytes()}
	}
	return cmds
}

func (r *decoder) reply() store.Reply {
	rep := store.Reply{StatusCode: int(r.varint()), StatusMessage: r.str(), Commands: r.commands()}
	if r.flag() {
		v := r.varint()
		rep.Balance = &v
	}
	rep.CardAccountID = r.str()
	return rep
}

func (r *decoder) moneyWrite() *store.MoneyWrite {
	if !r.flag() {
		return nil
	}
	return &store.MoneyWrite{PurchaseID: r.str(), CardID: r.str(), ExpectedCounter: int(r.varint())}
}

func (r *decoder) flag() bool {
	b := r.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		r.fail("flag %d", b[0])
	}
	return b[0] == 1
}
