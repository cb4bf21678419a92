package bincodec

import (
	"bytes"
	"encoding/binary"
	"time"
)

// An instant is the compact form of a time, for session records of format
// 4 and trace entries of format 4: AppendTime's form (time's own binary
// and its length) takes 16 bytes, an instant of this era in UTC at most 11
// (7 on a whole second). A session record holds five times, each trace
// entry one, and an ended session is held to a kilobyte (issue 11).

// Zone tags of an instant.
const (
	instantZero   = 0 // the zero time in UTC: nothing follows
	instantUTC    = 1 // UTC: seconds, nanoseconds
	instantOffset = 2 // another zone: its offset in seconds, seconds, nanoseconds
)

// AppendInstant appends t: a zone tag, for a zone other than UTC its
// offset east of UTC in seconds (varint), then the Unix seconds (varint)
// and the nanoseconds (uvarint). The zone's name and the monotonic
// reading are dropped, as JSON dropped them.
func AppendInstant(dst []byte, t time.Time) []byte {
	switch {
	case t.Location() != time.UTC:
		_, offset := t.Zone()
		dst = binary.AppendVarint(append(dst, instantOffset), int64(offset))
	case t.IsZero():
		return append(dst, instantZero)
	default:
		dst = append(dst, instantUTC)
	}
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// Instant reads what AppendInstant wrote. A time in a zone whose offset
// is the local zone's at that instant reads back in time.Local, as
// time.Time's own binary form and JSON do.
func (r *Reader) Instant() time.Time {
	start := r.off
	tag := r.Byte()
	if tag == instantZero || r.err != nil {
		return time.Time{}
	}
	var offset int64
	if tag == instantOffset {
		offset = r.Varint()
	} else if tag != instantUTC {
		r.Fail("time zone tag %d", tag)
		return time.Time{}
	}
	sec, nsec := r.Varint(), r.Uvarint()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 || offset != int64(int32(offset)) {
		r.Fail("time of %d ns past a second, offset %d s", nsec, offset)
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if tag == instantUTC {
		t = t.UTC()
	} else if _, local := t.In(time.Local).Zone(); int64(local) == offset {
		t = t.In(time.Local)
	} else {
		t = t.In(time.FixedZone("", int(offset)))
	}
	// Only what AppendInstant writes is accepted (no zero instant tagged
	// UTC, no padded varints), so that a record reads back as it was.
	var buf [32]byte
	if !bytes.Equal(AppendInstant(buf[:0], t), r.data[start:r.off]) {
		r.Fail("time not in canonical form")
		return time.Time{}
	}
	return t
}
