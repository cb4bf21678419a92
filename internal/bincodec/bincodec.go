package bincodec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrCorrupt: a record cannot be decoded. It is cut short, has bytes past
// its end, or holds a value its writer could not have written.
var ErrCorrupt = errors.New("corrupt record")

// AppendString appends s: its length, then its bytes.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendStrings appends a list of strings: its length+1, then each string.
// A nil and an empty list are both 0 and read back nil, as JSON's
// omitempty did.
func AppendStrings(dst []byte, list []string) []byte {
	dst = AppendCount(dst, len(list))
	for _, s := range list {
		dst = AppendString(dst, s)
	}
	return dst
}

// AppendCount appends the length of a list that follows: n+1, or 0 for an
// empty list, which reads back nil as JSON's omitempty did.
func AppendCount(dst []byte, n int) []byte {
	if n == 0 {
		return append(dst, 0)
	}
	return binary.AppendUvarint(dst, uint64(n)+1)
}

// AppendBytes appends b: its length+1, then its bytes; 0 for nil, so that
// nil and empty read back apart.
func AppendBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

// AppendTime appends t: a length byte, then time.Time's binary form. The
// monotonic reading is dropped, as JSON dropped it.
func AppendTime(dst []byte, t time.Time) []byte {
	mark := len(dst)
	dst = append(dst, 0)
	b, err := t.AppendBinary(dst)
	if err != nil {
		// It fails only for offsets no zone has: past ±546 hours, or of
		// -1 minute, which the form reserves for UTC. The instant survives
		// in UTC.
		b, _ = t.UTC().AppendBinary(dst)
	}
	b[mark] = byte(len(b) - mark - 1)
	return b
}

// AppendBool appends a flag: 1 for true, 0 for false.
func AppendBool(dst []byte, on bool) []byte {
	if on {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Reader reads, in order, the values the Append functions wrote. A Reader
// belongs to one goroutine.
type Reader struct {
	data []byte // the record, read through for numbers and times
	text string // a copy of data, sliced for strings
	off  int    // how much of the record has been read
	err  error
}

// NewReader reads data. Nothing it returns shares memory with data, which
// may be a bbolt page, valid only inside its transaction.
func NewReader(data []byte) Reader {
	return Reader{data: data, text: string(data)}
}

// Err is the first failure, wrapping ErrCorrupt; nil when every read so
// far succeeded.
func (r *Reader) Err() error { return r.err }

// Fail records a failure of the record's own checks (an unknown format
// byte, say), unless one came first; reads fail from then on.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	r.off = len(r.data)
}

// Finish is Err, and also fails when bytes follow the last value read: a
// record is read whole or not at all.
func (r *Reader) Finish() error {
	if r.err == nil && r.off < len(r.data) {
		r.Fail("%d bytes after the record", len(r.data)-r.off)
	}
	return r.err
}

// span claims the next n bytes and returns where they start.
func (r *Reader) span(n uint64) (int, bool) {
	if n > uint64(len(r.data)-r.off) {
		r.Fail("length %d past the end", n)
		return 0, false
	}
	start := r.off
	r.off += int(n)
	return start, true
}

// Format reads the format byte a record starts with, and fails unless it
// is want; record names the kind of record in the error.
func (r *Reader) Format(want byte, record string) {
	if f := r.Byte(); f != want && r.err == nil {
		r.Fail("%s of unknown format %d", record, f)
	}
}

// Byte reads one byte: a format byte, say.
func (r *Reader) Byte() byte {
	at, ok := r.span(1)
	if !ok {
		return 0
	}
	return r.data[at]
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.data[r.off:])
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.data[r.off:])
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

// Str reads a string. (Not String, which would make a Reader a
// fmt.Stringer.)
func (r *Reader) Str() string {
	n := r.Uvarint()
	at, ok := r.span(n)
	if !ok {
		return ""
	}
	return r.text[at:r.off]
}

// Bytes reads what AppendBytes wrote, as a copy.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if n == 0 {
		return nil
	}
	at, ok := r.span(n - 1)
	if !ok {
		return nil
	}
	return append([]byte{}, r.data[at:r.off]...)
}

// Count reads what AppendCount wrote: 0 for an empty list. Every element
// takes at least one byte, which bounds what a corrupt count can make a
// caller allocate.
func (r *Reader) Count() int {
	n := r.Uvarint()
	if n <= 1 {
		return 0
	}
	if n-1 > uint64(len(r.data)-r.off) {
		r.Fail("list of %d past the end", n-1)
		return 0
	}
	return int(n - 1)
}

// Strs reads a list of strings; an empty one reads back nil.
func (r *Reader) Strs() []string {
	n := r.Count()
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = r.Str()
	}
	return list
}

// Time reads a time.
func (r *Reader) Time() time.Time {
	n := r.Byte()
	at, ok := r.span(uint64(n))
	if !ok {
		return time.Time{}
	}
	raw := r.data[at:r.off]
	var t time.Time
	if err := t.UnmarshalBinary(raw); err != nil {
		r.Fail("time: %v", err)
		return time.Time{}
	}
	// UnmarshalBinary takes nanoseconds past a second, and forms that
	// AppendBinary does not write (version 2 for a whole-minute offset);
	// only what AppendTime writes is accepted, so that a record reads back
	// as it was.
	var buf [16]byte
	if again, _ := t.AppendBinary(buf[:0]); t.Nanosecond() >= 1e9 || !bytes.Equal(again, raw) {
		r.Fail("time not in canonical form")
		return time.Time{}
	}
	return t
}

// Bool reads a flag.
func (r *Reader) Bool() bool {
	switch b := r.Byte(); b {
	case 0:
		return false
	case 1:
		return true
	default:
		r.Fail("flag %d", b)
		return false
	}
}
