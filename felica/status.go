package felica

import "fmt"

// Status holds the two status flags of a response.
//
// SF1 is 00 on success, FF for an error not tied to a list element, else the
// failing element's position (1-based on most products, a bitmap on some).
// SF2 says what went wrong (the SF2... constants).
type Status struct {
	SF1, SF2 byte
}

// SF1 values with a fixed meaning.
const (
	SF1OK      = 0x00
	SF1General = 0xFF
)

// SF2 values, as in FELICA.md.
const (
	SF2OK               = 0x00
	SF2PurseUnderflow   = 0x01
	SF2CashbackExceeded = 0x02
	SF2MemoryError      = 0x70
	SF2RewriteWarning   = 0x71
	SF2ServiceCount     = 0xA1
	SF2BlockCount       = 0xA2
	SF2ServiceIndex     = 0xA3
	SF2WrongAttribute   = 0xA4
	SF2AccessDenied     = 0xA5
	SF2NoSuchService    = 0xA6
	SF2IllegalAccess    = 0xA7
	SF2BlockNumber      = 0xA8
	SF2CyclicOverflow   = 0xAF
)

// sf2Info gives the name and meaning of a known SF2 value.
func sf2Info(sf2 byte) (name, meaning string, ok bool) {
	switch sf2 {
	case SF2OK:
		return "ok", "success", true
	case SF2PurseUnderflow:
		return "purse-underflow", "the purse would go below 0", true
	case SF2CashbackExceeded:
		return "cashback-exceeded", "cashback exceeds the stored cashback", true
	case SF2MemoryError:
		return "memory-error", "memory error", true
	case SF2RewriteWarning:
		return "rewrite-warning", "rewrite count warning, the write was done", true
	case SF2ServiceCount:
		return "service-count", "number of services out of range", true
	case SF2BlockCount:
		return "block-count", "number of blocks out of range", true
	case SF2ServiceIndex:
		return "service-index", "service list index not below the number of services", true
	case SF2WrongAttribute:
		return "wrong-attribute", "a system or area code where a service is needed", true
	case SF2AccessDenied:
		return "access-denied", "access not allowed (key needed, or read-only)", true
	case SF2NoSuchService:
		return "no-such-service", "no such service", true
	case SF2IllegalAccess:
		return "illegal-access-mode", "illegal access mode", true
	case SF2BlockNumber:
		return "block-number", "block number past the service's blocks", true
	case SF2CyclicOverflow:
		return "cyclic-overflow", "more blocks written to a cyclic service than it holds", true
	}
	return fmt.Sprintf("sf2-%02X", sf2), "unknown status flag", false
}

// SF2Name names an SF2 value ("no-such-service"); unknown ones as "sf2-XX".
func SF2Name(sf2 byte) string {
	name, _, _ := sf2Info(sf2)
	return name
}

// SF2Meaning explains an SF2 value in words.
func SF2Meaning(sf2 byte) string {
	_, meaning, _ := sf2Info(sf2)
	return meaning
}

// OK reports whether SF1 says success. SF2 may then still carry a warning
// (71, the write was done).
func (s Status) OK() bool { return s.SF1 == SF1OK }

// String renders the flags in hex with SF2's name and, when SF1 points at a
// list element, its position: "01 A6 no-such-service (element 1)".
func (s Status) String() string {
	out := fmt.Sprintf("%02X %02X %s", s.SF1, s.SF2, SF2Name(s.SF2))
	if s.SF1 != SF1OK && s.SF1 != SF1General {
		out += fmt.Sprintf(" (element %d)", s.SF1)
	}
	return out
}

// Err is nil when the status is OK, else a *StatusError that errors.Is
// matches against ErrStatus.
func (s Status) Err() error {
	if s.OK() {
		return nil
	}
	return &StatusError{Status: s}
}
