package sessioncodec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tes-project/tes/internal/bincodec"
	"github.com/tes-project/tes/store"
)

// Sessions are the records every request reads and writes, and their trace
// grows with each step, so they are stored in a compact binary form rather
// than JSON: decoding it costs a fraction of JSON's time and garbage, and
// PutSession reads only the head of the stored record (Head) to check
// the revision and move the index entries.
//
// The form is Format, then the head fields, then the rest, each in
// the order of Encode, in the values of internal/bincodec (byte
// slices and lists store length+1 so that 0 can mean nil). A record that
// starts with '{' is JSON, as written by earlier versions, and still reads.
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
//
// Format 4 made the record smaller, so that an ended session fits in a
// kilobyte with its trace: times as bincodec instants (at most 11 bytes
// instead of 16), the values records repeat (states, endpoints,
// operations, end reasons, "OK") as one byte (words.go), the script
// version's SHA-256 as its 32 bytes instead of 64 hex digits, and each
// trace key as its distance from the one before; the last reply's commands,
// when they are the batch the session waits on, as one byte. Its trace
// entries are compressed against a dictionary (EntryFormat, tracedict.go).
const Format byte = 4

// ErrCorrupt: a stored session record cannot be decoded.
var ErrCorrupt = bincodec.ErrCorrupt

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
	// TraceKeys are the backend's keys of the stored trace entries, in
	// order, for a backend that keys them by a sequence of its own so that
	// they are written in key order (bbolt); empty for one that keys them
	// by session and position (PostgreSQL).
	TraceKeys []uint64
	format    byte
}

// Legacy reports whether the record is of format 1 or 2 (or JSON), which
// holds its trace: Decode returns it in Session.Trace.
func (h Head) Legacy() bool { return h.format < 3 }

// HoldsTrace is Legacy for a backend that reads only a record's first
// byte.
func HoldsTrace(first byte) bool { return first == '{' || first < 3 }

// Session is the head as a session with id and only the head's fields.
func (h Head) Session(id string) store.Session {
	return store.Session{
		ID: id, Revision: h.Revision, IssuerID: h.IssuerID, DeviceID: h.DeviceID, State: h.State,
		CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt, PurgeAt: h.PurgeAt, CardID: h.CardID, IDm: h.IDm,
		TraceLen: h.TraceLen,
	}
}

// Encode appends the stored form of s to dst, with the backend's keys of
// its trace entries (Head.TraceKeys).
func Encode(dst []byte, s store.Session, traceKeys []uint64) []byte {
	// Grown once to about the record's size, not doubled field by field.
	b := append(slices.Grow(dst, recordOverhead+len(s.FlowState)+len(s.LastRequest)+
		commandsSize(s.Batch)+commandsSize(s.LastReply.Commands)+4*len(traceKeys)), Format)
	b = binary.AppendUvarint(b, s.Revision)
	b = bincodec.AppendString(b, s.IssuerID)
	b = bincodec.AppendString(b, s.DeviceID)
	b = appendWord(b, string(s.State))
	b = bincodec.AppendInstant(b, s.CreatedAt)
	b = bincodec.AppendInstant(b, s.ExpiresAt)
	b = bincodec.AppendInstant(b, s.PurgeAt)
	b = bincodec.AppendString(b, s.CardID)
	b = bincodec.AppendString(b, s.IDm)
	b = binary.AppendUvarint(b, uint64(s.TraceLen))
	b = bincodec.AppendCount(b, len(traceKeys))
	var previous uint64
	for _, k := range traceKeys {
		b = binary.AppendVarint(b, int64(k-previous))
		previous = k
	}

	b = bincodec.AppendString(b, s.ID)
	b = bincodec.AppendString(b, s.ActorID)
	b = appendWord(b, s.Endpoint)
	b = appendWord(b, s.Operation)
	b = bincodec.AppendString(b, s.PurchaseID)
	b = appendVersion(b, s.Version)
	b = appendWord(b, string(s.EndReason))
	b = bincodec.AppendInstant(b, s.LastCallAt)
	b = bincodec.AppendInstant(b, s.EndedAt)
	b = bincodec.AppendBytes(b, omitEmpty(s.FlowState))
	b = appendCommands(b, s.Batch)
	b = binary.AppendVarint(b, int64(s.Steps))
	b = bincodec.AppendBytes(b, omitEmpty(s.LastRequest))
	b = appendReply(b, s.LastReply, s.Batch)
	b = appendMoneyWrite(b, s.InFlight)
	return bincodec.AppendString(b, s.Step)
}

// EncodeEntry appends the stored form of one trace entry to dst:
// EntryFormat, the dictionary's id, then its fields compressed
// (tracedict.go).
func EncodeEntry(dst []byte, e store.TraceEntry) []byte {
	dst = binary.AppendUvarint(append(dst, EntryFormat), traceDictID)
	return compressEntry(dst, AppendEntryFields(nil, e))
}

// AppendEntryFields appends the fields of one trace entry to dst,
// uncompressed: what EncodeEntry compresses, and what a trace dictionary
// is made of.
func AppendEntryFields(dst []byte, e store.TraceEntry) []byte {
	n := recordOverhead + len(e.Message) + len(e.Vars) + commandsSize(e.Responses) + commandsSize(e.Commands)
	for _, list := range [][]string{e.Decisions, e.Effects, e.Logs} {
		for _, text := range list {
			n += len(text) + 2
		}
	}
	b := slices.Grow(dst, n)
	b = bincodec.AppendInstant(b, e.At)
	b = binary.AppendVarint(b, int64(e.Elapsed))
	b = bincodec.AppendString(b, e.Step)
	b = appendCommands(b, e.Responses)
	b = binary.AppendVarint(b, int64(e.DeviceCode))
	b = binary.AppendVarint(b, int64(e.DeviceTime))
	b = bincodec.AppendStrings(b, e.Decisions)
	b = appendCommands(b, e.Commands)
	b = binary.AppendVarint(b, int64(e.StatusCode))
	b = bincodec.AppendString(b, e.Message)
	b = bincodec.AppendStrings(b, e.Effects)
	b = bincodec.AppendStrings(b, e.Logs)
	return bincodec.AppendString(b, e.Vars)
}

// DecodeEntry reads what EncodeEntry wrote, or an entry of format 3, which
// the previous version wrote uncompressed; the result shares no memory
// with data.
func DecodeEntry(data []byte) (store.TraceEntry, error) {
	var fields []byte
	switch {
	case len(data) == 0:
		return store.TraceEntry{}, fmt.Errorf("%w: empty trace entry", bincodec.ErrCorrupt)
	case data[0] == plainEntryFormat:
		fields = data[1:]
	case data[0] == EntryFormat:
		var err error
		if fields, err = inflateEntry(data[1:]); err != nil {
			return store.TraceEntry{}, err
		}
	default:
		return store.TraceEntry{}, fmt.Errorf("%w: trace entry of format %d", bincodec.ErrCorrupt, data[0])
	}
	r := bincodec.NewReader(fields)
	e := readEntry(values{&r, data[0]})
	if err := r.Finish(); err != nil {
		return store.TraceEntry{}, err
	}
	return e, nil
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
	r := bincodec.NewReader(data)
	h := readHead(&r)
	v := values{&r, h.format}
	s = h.Session("")
	s.ID = r.Str()
	s.ActorID = r.Str()
	s.Endpoint = v.word()
	s.Operation = v.word()
	if h.format == 1 {
		s.CardID = r.Str()
	}
	s.PurchaseID = r.Str()
	s.Version = v.version()
	s.EndReason = store.EndReason(v.word())
	s.LastCallAt = v.time()
	s.EndedAt = v.time()
	s.FlowState = omitEmpty(r.Bytes())
	s.Batch = readCommands(&r)
	s.Steps = int(r.Varint())
	s.LastRequest = omitEmpty(r.Bytes())
	s.LastReply = readReply(v, s.Batch)
	s.InFlight = readMoneyWrite(&r)
	if h.format >= 3 {
		s.Step = r.Str()
	} else if n := r.Count(); n > 0 {
		s.Trace = make([]store.TraceEntry, n)
		for i := range s.Trace {
			s.Trace[i] = readEntry(v)
		}
		s.TraceLen = n
		s.Step = s.Trace[n-1].Step
	}
	if err := r.Finish(); err != nil {
		return store.Session{}, err
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
	r := bincodec.NewReader(data)
	h := readHead(&r)
	return h, r.Err()
}

// recordOverhead bounds what a record or trace entry takes beyond its
// variable-length fields that Encode and EncodeEntry count: the ids,
// times, numbers and length prefixes.
const recordOverhead = 256

// commandsSize is about what appendCommands writes for cmds.
func commandsSize(cmds []store.Command) int {
	n := 0
	for _, c := range cmds {
		n += len(c.ID) + len(c.Frame) + 4
	}
	return n
}

// omitEmpty stores an empty slice as nil, as JSON's omitempty did.
func omitEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func appendCommands(b []byte, cmds []store.Command) []byte {
	b = bincodec.AppendCount(b, len(cmds))
	for _, c := range cmds {
		b = bincodec.AppendString(b, c.ID)
		b = bincodec.AppendBytes(b, c.Frame)
	}
	return b
}

// appendReply appends rep. Its commands are most often the batch the
// session waits on (the engine sets both from one reply): then a 1 stands
// for them, else a 0 and the commands.
func appendReply(b []byte, rep store.Reply, batch []store.Command) []byte {
	b = binary.AppendVarint(b, int64(rep.StatusCode))
	b = appendWord(b, rep.StatusMessage)
	if len(batch) > 0 && slices.EqualFunc(rep.Commands, batch, sameCommand) {
		b = append(b, 1)
	} else {
		b = appendCommands(append(b, 0), rep.Commands)
	}
	b = bincodec.AppendBool(b, rep.Balance != nil)
	if rep.Balance != nil {
		b = binary.AppendVarint(b, *rep.Balance)
	}
	return bincodec.AppendString(b, rep.CardAccountID)
}

func sameCommand(a, b store.Command) bool {
	return a.ID == b.ID && bytes.Equal(a.Frame, b.Frame)
}

func appendMoneyWrite(b []byte, m *store.MoneyWrite) []byte {
	b = bincodec.AppendBool(b, m != nil)
	if m == nil {
		return b
	}
	b = bincodec.AppendString(b, m.PurchaseID)
	b = bincodec.AppendString(b, m.CardID)
	return binary.AppendVarint(b, int64(m.ExpectedCounter))
}

func readHead(r *bincodec.Reader) Head {
	h := Head{format: r.Byte()}
	if h.format < 1 || h.format > Format {
		r.Fail("unknown format %d", h.format)
		return Head{}
	}
	v := values{r, h.format}
	h.Revision = r.Uvarint()
	h.IssuerID = r.Str()
	h.DeviceID = r.Str()
	h.State = store.SessionState(v.word())
	h.CreatedAt = v.time()
	h.ExpiresAt = v.time()
	h.PurgeAt = v.time()
	if h.format >= 2 {
		h.CardID = r.Str()
		h.IDm = r.Str()
	}
	if h.format >= 3 {
		n := r.Uvarint()
		if n > 1<<31 {
			r.Fail("trace length %d", n)
		}
		h.TraceLen = int(n)
		if n := r.Count(); n > 0 {
			h.TraceKeys = make([]uint64, n)
			var previous uint64
			for i := range h.TraceKeys {
				h.TraceKeys[i] = v.traceKey(previous)
				previous = h.TraceKeys[i]
			}
		}
	}
	return h
}

// readEntry reads a trace entry's fields: those a record of format 1 or 2
// holds, or those of an entry of format 3 or 4 (v.format).
func readEntry(v values) store.TraceEntry {
	r := v.Reader
	var e store.TraceEntry
	e.At = v.time()
	e.Elapsed = time.Duration(r.Varint())
	e.Step = r.Str()
	e.Responses = readCommands(r)
	e.DeviceCode = int(r.Varint())
	e.DeviceTime = time.Duration(r.Varint())
	e.Decisions = r.Strs()
	e.Commands = readCommands(r)
	e.StatusCode = int(r.Varint())
	e.Message = r.Str()
	if v.format >= 2 {
		e.Effects = r.Strs()
		e.Logs = r.Strs()
		e.Vars = r.Str()
	}
	return e
}

func readCommands(r *bincodec.Reader) []store.Command {
	n := r.Count()
	if n == 0 {
		return nil
	}
	cmds := make([]store.Command, n)
	for i := range cmds {
		cmds[i] = store.Command{ID: r.Str(), Frame: r.Bytes()}
	}
	return cmds
}

func readReply(v values, batch []store.Command) store.Reply {
	r := v.Reader
	rep := store.Reply{StatusCode: int(r.Varint())}
	rep.StatusMessage = v.word()
	rep.Commands = v.replyCommands(batch)
	if r.Bool() {
		v := r.Varint()
		rep.Balance = &v
	}
	rep.CardAccountID = r.Str()
	return rep
}

func readMoneyWrite(r *bincodec.Reader) *store.MoneyWrite {
	if !r.Bool() {
		return nil
	}
	return &store.MoneyWrite{PurchaseID: r.Str(), CardID: r.Str(), ExpectedCounter: int(r.Varint())}
}
