package sessioncodec

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/tes-project/tes/internal/bincodec"
	"github.com/tes-project/tes/store"
)

// words are the values session records repeat, stored since format 4 as
// their place in this list plus one (a byte); any other value is stored
// as 0 and the string. A stored place names its word forever: the list
// only grows, at its end.
var words = [...]string{
	"",
	"OPEN", "ENDED",
	"getCardCommands", "getParkCardCommands", "getReaderModeCommands",
	"TOPUP", "READ", "REFUND", "PARK", "READER_MODE",
	"COMPLETED", "DEVICE_FAILURE", "EXPIRED", "INCOMPLETE", "FAULT",
	"OK",
}

func appendWord(b []byte, s string) []byte {
	for i, w := range words {
		if w == s {
			return binary.AppendUvarint(b, uint64(i)+1)
		}
	}
	return bincodec.AppendString(append(b, 0), s)
}

// appendVersion appends a script version: the SHA-256 it is, in lowercase
// hex (scripts.Version), as 1 and its 32 bytes; anything else as 0 and the
// string.
func appendVersion(b []byte, version string) []byte {
	var sum [32]byte
	if len(version) != 2*len(sum) {
		return bincodec.AppendString(append(b, 0), version)
	}
	for i := range version {
		var nibble byte
		switch c := version[i]; {
		case '0' <= c && c <= '9':
			nibble = c - '0'
		case 'a' <= c && c <= 'f':
			nibble = c - 'a' + 10
		default:
			return bincodec.AppendString(append(b, 0), version)
		}
		sum[i/2] = sum[i/2]<<4 | nibble
	}
	return bincodec.AppendBytes(append(b, 1), sum[:])
}

// values reads the values whose form changed with the format: a session
// record's or, for time, a trace entry's.
type values struct {
	*bincodec.Reader
	format byte
}

func (v values) time() time.Time {
	if v.format >= 4 {
		return v.Instant()
	}
	return v.Time()
}

func (v values) word() string {
	if v.format < 4 {
		return v.Str()
	}
	n := v.Uvarint()
	switch {
	case n == 0:
		return v.Str()
	case n > uint64(len(words)):
		v.Fail("word %d", n)
		return ""
	}
	return words[n-1]
}

func (v values) version() string {
	if v.format < 4 {
		return v.Str()
	}
	switch tag := v.Byte(); tag {
	case 0:
		return v.Str()
	case 1:
		if sum := v.Bytes(); len(sum) == 32 {
			return hex.EncodeToString(sum)
		}
		v.Fail("script version of other than 32 bytes")
	default:
		v.Fail("script version tag %d", tag)
	}
	return ""
}

func (v values) traceKey(previous uint64) uint64 {
	if v.format < 4 {
		return v.Uvarint()
	}
	return previous + uint64(v.Varint())
}

// replyCommands reads the last reply's commands: since format 4 a 1 for
// the batch's, or a 0 and the commands.
func (v values) replyCommands(batch []store.Command) []store.Command {
	if v.format < 4 {
		return readCommands(v.Reader)
	}
	switch same := v.Byte(); same {
	case 0:
		return readCommands(v.Reader)
	case 1:
		if len(batch) == 0 {
			v.Fail("reply commands said to be the batch, which is empty")
		}
		return batch
	default:
		v.Fail("reply commands tag %d", same)
		return nil
	}
}
