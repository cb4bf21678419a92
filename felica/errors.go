package felica

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by the builders and parsers, always wrapped in a *FrameError
// that says which frame and where. Callers test them with errors.Is.
var (
	// Framing: checked first, by Unframe and every parser.

	// ErrEmptyFrame: the frame holds no byte at all (or only its LEN byte).
	ErrEmptyFrame = errors.New("felica: empty frame")
	// ErrBadLength: the LEN byte does not equal the frame's length.
	ErrBadLength = errors.New("felica: LEN byte does not match the frame length")
	// ErrFrameTooLong: the packet is longer than 255 bytes counting LEN.
	ErrFrameTooLong = errors.New("felica: frame longer than 255 bytes")

	// Content: checked by the parsers in the order of the bytes.

	// ErrUnexpectedCode: the command or response code is not the one expected.
	ErrUnexpectedCode = errors.New("felica: unexpected command or response code")
	// ErrIDmMismatch: a response carries another IDm than the command was sent to.
	ErrIDmMismatch = errors.New("felica: IDm does not match the command's")
	// ErrTruncated: the packet ends before a field it announces.
	ErrTruncated = errors.New("felica: truncated frame")
	// ErrTrailingData: bytes follow the last field of the packet.
	ErrTrailingData = errors.New("felica: trailing data after the last field")
	// ErrCountMismatch: a count byte disagrees with the data that follows it
	// (number of blocks against block data, number of nodes against key versions).
	ErrCountMismatch = errors.New("felica: count does not match the data")
	// ErrMalformed: a field holds a value the format does not allow (reserved
	// bytes not zero, an area code without its end, a bad hex string).
	ErrMalformed = errors.New("felica: malformed field")

	// Limits: checked when building (a parser of commands accepts any count the
	// bytes can carry, so that a card can answer with the right status flag).

	// ErrServiceCount: the number of services or nodes is out of range.
	ErrServiceCount = errors.New("felica: number of services out of range")
	// ErrBlockCount: the number of blocks is out of range, or the block data is
	// not 16 bytes per block.
	ErrBlockCount = errors.New("felica: number of blocks out of range")
	// ErrServiceIndex: a block element names a service index past the service list.
	ErrServiceIndex = errors.New("felica: block element service index out of range")
	// ErrAccessMode: an access mode does not fit in 3 bits.
	ErrAccessMode = errors.New("felica: access mode out of range")
	// ErrBadParameter: a parameter of a command has a value the command does not
	// take (a Polling time slot other than 0, 1, 3, 7, 15, a node number past 1023).
	ErrBadParameter = errors.New("felica: parameter out of range")

	// Card verdict: not a malformed frame but a well-formed error response.

	// ErrStatus: the card answered with status flags other than success; the
	// error is a *StatusError carrying them (see Status.Err).
	ErrStatus = errors.New("felica: card reported an error")
)

// FrameError tells which frame could not be built or parsed, where, and why.
// Err is one of the sentinel errors above; errors.Is sees through it.
type FrameError struct {
	// Op names the operation and frame, e.g. "parse Read Without Encryption response".
	Op string
	// Offset is the byte offset in the packet, counted from the code byte,
	// where the problem was found; -1 when it is not about a position (building).
	Offset int
	// Err is the sentinel error.
	Err error
	// Detail says what exactly was wrong, for people.
	Detail string
}

func (e *FrameError) Error() string {
	msg := "felica: " + e.Op
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at byte %d", e.Offset)
	}
	msg += ": " + strings.TrimPrefix(e.Err.Error(), "felica: ")
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *FrameError) Unwrap() error { return e.Err }

// StatusError is the error form of non-success status flags (Status.Err).
type StatusError struct {
	Status Status
}

func (e *StatusError) Error() string { return "felica: card status " + e.Status.String() }

// Is makes errors.Is(err, ErrStatus) true for every StatusError.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

func buildError(code Code, sentinel error, format string, args ...any) error {
	return &FrameError{Op: "build " + code.String(), Offset: -1, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}
