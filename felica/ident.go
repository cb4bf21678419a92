package felica

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// IDm is a card's manufacture ID, the address of every command but Polling.
type IDm [8]byte

// String renders the IDm as 16 upper-case hex digits. Logs outside debug level
// should use Masked instead.
func (id IDm) String() string { return fmt.Sprintf("%X", id[:]) }

// Masked renders the IDm with its middle hidden, for logs and error messages.
func (id IDm) Masked() string { return fmt.Sprintf("%X********%X", id[:2], id[6:]) }

// ParseIDm reads an IDm written as 16 hex digits (either case).
func ParseIDm(s string) (IDm, error) {
	var id IDm
	if len(s) != 2*len(id) {
		return id, &FrameError{Op: "parse IDm", Offset: -1, Err: ErrMalformed, Detail: fmt.Sprintf("%d characters, need 16 hex digits", len(s))}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return IDm{}, &FrameError{Op: "parse IDm", Offset: -1, Err: ErrMalformed, Detail: err.Error()}
	}
	return id, nil
}

// PMm is a card's manufacture parameter, returned by Polling.
type PMm [8]byte

// String renders the PMm as 16 upper-case hex digits.
func (pm PMm) String() string { return fmt.Sprintf("%X", pm[:]) }

// SystemCode names a system on a card. It travels big-endian.
type SystemCode uint16

// WildcardSystemCode in a Polling command matches every system.
const WildcardSystemCode SystemCode = 0xFFFF

// String renders the system code as 4 upper-case hex digits.
func (s SystemCode) String() string { return fmt.Sprintf("%04X", uint16(s)) }

// Matches reports whether a Polling for system code s answers a system
// with code card: a byte FF in s matches any byte.
func (s SystemCode) Matches(card SystemCode) bool {
	for _, shift := range []uint{8, 0} {
		want := byte(s >> shift)
		if want != 0xFF && want != byte(card>>shift) {
			return false
		}
	}
	return true
}

// ParseSystemCode reads a system code written as 4 hex digits.
func ParseSystemCode(s string) (SystemCode, error) {
	v, err := parseHex16(s, "system code")
	return SystemCode(v), err
}

func parseHex16(s, what string) (uint16, error) {
	if len(s) != 4 {
		return 0, &FrameError{Op: "parse " + what, Offset: -1, Err: ErrMalformed, Detail: fmt.Sprintf("%q: need 4 hex digits", s)}
	}
	v, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return 0, &FrameError{Op: "parse " + what, Offset: -1, Err: ErrMalformed, Detail: fmt.Sprintf("%q: need 4 hex digits", s)}
	}
	return uint16(v), nil
}
