package felica

import "fmt"

// MaxFrameLen is the longest packet, counting its LEN byte.
const MaxFrameLen = 255

// Framing says whether frames start with their LEN byte. It is chosen per call
// by the caller (from the issuer's configuration), never guessed from the bytes.
type Framing uint8

const (
	// WithLEN: the packet starts with a LEN byte that counts itself, as
	// Android's NfcF.transceive takes and returns it. The default.
	WithLEN Framing = iota
	// WithoutLEN: the packet starts at the command code, as iOS's
	// sendFeliCaCommand takes it (iOS adds LEN itself).
	WithoutLEN
)

func (f Framing) String() string {
	switch f {
	case WithLEN:
		return "with LEN"
	case WithoutLEN:
		return "without LEN"
	}
	return fmt.Sprintf("Framing(%d)", uint8(f))
}

// Unframe checks the framing of frame and returns the packet from the command
// or response code on. WithLEN requires frame[0] == len(frame), between 2 and
// 255; WithoutLEN returns a non-empty frame of at most 254 bytes as it is.
// The result aliases frame.
func (f Framing) Unframe(frame []byte) ([]byte, error) {
	fail := func(sentinel error, format string, args ...any) ([]byte, error) {
		return nil, &FrameError{Op: "unframe (" + f.String() + ")", Offset: -1, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
	}
	switch f {
	case WithLEN:
		if len(frame) < 2 {
			return fail(ErrEmptyFrame, "%d bytes, need LEN and a code", len(frame))
		}
		if len(frame) > MaxFrameLen {
			return fail(ErrFrameTooLong, "%d bytes", len(frame))
		}
		if int(frame[0]) != len(frame) {
			return fail(ErrBadLength, "LEN says %d, frame has %d bytes", frame[0], len(frame))
		}
		return frame[1:], nil
	case WithoutLEN:
		if len(frame) == 0 {
			return fail(ErrEmptyFrame, "no code byte")
		}
		if len(frame) > MaxFrameLen-1 {
			return fail(ErrFrameTooLong, "%d bytes, plus LEN would exceed %d", len(frame), MaxFrameLen)
		}
		return frame, nil
	}
	return fail(ErrBadParameter, "unknown framing")
}

// PeekCode returns the command or response code of a frame after checking its framing.
func PeekCode(frame []byte, f Framing) (Code, error) {
	p, err := f.Unframe(frame)
	if err != nil {
		return 0, err
	}
	return Code(p[0]), nil
}

// Code is a command or response code. A response code is its command's code + 1.
type Code byte

// Command codes, each followed by its response code.
const (
	CodePolling                    Code = 0x00
	CodePollingResponse            Code = 0x01
	CodeRequestService             Code = 0x02
	CodeRequestServiceResponse     Code = 0x03
	CodeRequestResponse            Code = 0x04
	CodeRequestResponseResponse    Code = 0x05
	CodeRead                       Code = 0x06 // Read Without Encryption
	CodeReadResponse               Code = 0x07
	CodeWrite                      Code = 0x08 // Write Without Encryption
	CodeWriteResponse              Code = 0x09
	CodeSearchServiceCode          Code = 0x0A
	CodeSearchServiceCodeResponse  Code = 0x0B
	CodeRequestSystemCode          Code = 0x0C
	CodeRequestSystemCodeResponse  Code = 0x0D
	CodeAuth1                      Code = 0x10
	CodeAuth1Response              Code = 0x11
	CodeAuth2                      Code = 0x12
	CodeAuth2Response              Code = 0x13
	CodeReadDES                    Code = 0x14 // Read (DES): the legacy encrypted Read
	CodeReadDESResponse            Code = 0x15
	CodeWriteDES                   Code = 0x16 // Write (DES): the legacy encrypted Write
	CodeWriteDESResponse           Code = 0x17
	CodeRequestServiceV2           Code = 0x32
	CodeRequestServiceV2Response   Code = 0x33
	CodeRequestSpecVersion         Code = 0x3C
	CodeRequestSpecVersionResponse Code = 0x3D
	CodeResetMode                  Code = 0x3E
	CodeResetModeResponse          Code = 0x3F
	CodeAuth1V2                    Code = 0x40
	CodeAuth1V2Response            Code = 0x41
	CodeAuth2V2                    Code = 0x42
	CodeAuth2V2Response            Code = 0x43
	CodeReadV2                     Code = 0x44 // Read v2: AES secure messaging
	CodeReadV2Response             Code = 0x45
	CodeWriteV2                    Code = 0x46 // Write v2: AES secure messaging
	CodeWriteV2Response            Code = 0x47
)

// commandName names command code c; ok is false for codes the codec does not know.
func commandName(c Code) (name string, ok bool) {
	switch c {
	case CodePolling:
		return "Polling", true
	case CodeRequestService:
		return "Request Service", true
	case CodeRequestResponse:
		return "Request Response", true
	case CodeRead:
		return "Read Without Encryption", true
	case CodeWrite:
		return "Write Without Encryption", true
	case CodeSearchServiceCode:
		return "Search Service Code", true
	case CodeRequestSystemCode:
		return "Request System Code", true
	case CodeAuth1:
		return "Authentication1", true
	case CodeAuth2:
		return "Authentication2", true
	case CodeReadDES:
		return "Read (DES)", true
	case CodeWriteDES:
		return "Write (DES)", true
	case CodeRequestServiceV2:
		return "Request Service v2", true
	case CodeRequestSpecVersion:
		return "Request Specification Version", true
	case CodeResetMode:
		return "Reset Mode", true
	case CodeAuth1V2:
		return "Authentication1 v2", true
	case CodeAuth2V2:
		return "Authentication2 v2", true
	case CodeReadV2:
		return "Read v2", true
	case CodeWriteV2:
		return "Write v2", true
	}
	return "", false
}

// Known reports whether the codec knows c as a command or a response code.
func (c Code) Known() bool {
	_, ok := commandName(c.Command())
	return ok
}

// IsResponse reports whether c is a known response code.
func (c Code) IsResponse() bool { return c.Known() && c&1 == 1 }

// Response returns the response code of command code c.
func (c Code) Response() Code { return c | 1 }

// Command returns the command code that response code c answers.
func (c Code) Command() Code { return c &^ 1 }

// String names the command ("Read Without Encryption") or response
// ("Read Without Encryption response"); unknown codes as "code 0xNN".
func (c Code) String() string {
	name, ok := commandName(c.Command())
	if !ok {
		return fmt.Sprintf("code 0x%02X", byte(c))
	}
	if c&1 == 1 {
		return name + " response"
	}
	return name
}
