package felica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// encoder appends one packet to a caller's buffer. The LEN byte, when framed,
// is reserved first and filled in by finish, once the length is known.
type encoder struct {
	buf   []byte
	start int // index of the LEN byte (WithLEN) or of the code (WithoutLEN)
	f     Framing
	code  Code
}

// newEncoder starts a packet; body is the number of bytes after the code,
// so that dst grows at most once.
func newEncoder(dst []byte, f Framing, code Code, body int) encoder {
	e := encoder{buf: slices.Grow(dst, 2+body), start: len(dst), f: f, code: code}
	if f == WithLEN {
		e.buf = append(e.buf, 0)
	}
	e.buf = append(e.buf, byte(code))
	return e
}

func (e *encoder) u8(v byte)      { e.buf = append(e.buf, v) }
func (e *encoder) bytes(v []byte) { e.buf = append(e.buf, v...) }
func (e *encoder) u16le(v uint16) { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }
func (e *encoder) u16be(v uint16) { e.buf = binary.BigEndian.AppendUint16(e.buf, v) }
func (e *encoder) nodes(v []NodeCode) {
	for _, n := range v {
		e.u16le(uint16(n))
	}
}

// finish checks the packet length and writes LEN. On error the buffer is cut
// back to dst's length, so a failed build leaves no partial frame behind.
func (e *encoder) finish() ([]byte, error) {
	n := len(e.buf) - e.start
	if e.f == WithoutLEN {
		n++ // the LEN byte iOS will add
	}
	if n > MaxFrameLen {
		return e.buf[:e.start], buildError(e.code, ErrFrameTooLong, "packet would be %d bytes", n)
	}
	if e.f == WithLEN {
		e.buf[e.start] = byte(n)
	} else if e.f != WithoutLEN {
		return e.buf[:e.start], buildError(e.code, ErrBadParameter, "unknown framing %d", e.f)
	}
	return e.buf, nil
}

// decoder reads one packet. The first failure sticks: later reads return
// zero values, and done reports that first failure.
type decoder struct {
	p    []byte // the packet from the code byte on
	off  int
	code Code
	err  error
}

// openPacket unframes frame and checks its code.
func openPacket(frame []byte, f Framing, want Code) decoder {
	d := decoder{code: want}
	p, err := f.Unframe(frame)
	if err != nil {
		d.err = err
		var fe *FrameError
		if errors.As(err, &fe) {
			d.err = &FrameError{Op: "parse " + want.String() + " (" + f.String() + ")", Offset: fe.Offset, Err: fe.Err, Detail: fe.Detail}
		}
		return d
	}
	d.p, d.off = p, 1
	if Code(p[0]) != want {
		d.fail(0, ErrUnexpectedCode, "got 0x%02X (%s)", p[0], Code(p[0]))
	}
	return d
}

func (d *decoder) fail(offset int, sentinel error, format string, args ...any) {
	if d.err == nil {
		d.err = &FrameError{Op: "parse " + d.code.String(), Offset: offset, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) remaining() int { return len(d.p) - d.off }

// take returns the next n bytes, aliasing the input.
func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.remaining() < n {
		d.fail(d.off, ErrTruncated, "%s needs %d bytes, %d left", what, n, d.remaining())
		return nil
	}
	b := d.p[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8(what string) byte {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16le(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u16be(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) copyTo(dst []byte, what string) {
	copy(dst, d.take(len(dst), what))
}

func (d *decoder) idm() IDm {
	var id IDm
	d.copyTo(id[:], "IDm")
	return id
}

// expectIDm reads the IDm and, when want is not nil, checks it.
func (d *decoder) expectIDm(want *IDm) IDm {
	at := d.off
	id := d.idm()
	if d.err == nil && want != nil && id != *want {
		d.fail(at, ErrIDmMismatch, "the response answers another card")
	}
	return id
}

func (d *decoder) nodes(n int, what string) []NodeCode {
	if d.err != nil {
		return nil
	}
	if d.remaining() < 2*n {
		d.fail(d.off, ErrTruncated, "%d %s need %d bytes, %d left", n, what, 2*n, d.remaining())
		return nil
	}
	out := make([]NodeCode, n)
	for i := range out {
		out[i] = NodeCode(d.u16le(what))
	}
	return out
}

func (d *decoder) status() Status {
	b := d.take(2, "status flags")
	if b == nil {
		return Status{}
	}
	return Status{SF1: b[0], SF2: b[1]}
}

// done reports the first failure, or trailing bytes after the last field.
func (d *decoder) done() error {
	if d.err == nil && d.remaining() > 0 {
		d.fail(d.off, ErrTrailingData, "%d extra bytes", d.remaining())
	}
	return d.err
}
