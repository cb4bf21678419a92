package felica

// appendIDmCommand encodes the commands that carry only an IDm.
func appendIDmCommand(dst []byte, f Framing, code Code, idm IDm) ([]byte, error) {
	e := newEncoder(dst, f, code, 8)
	e.bytes(idm[:])
	return e.finish()
}

func parseIDmCommand(frame []byte, f Framing, code Code) (IDm, error) {
	d := openPacket(frame, f, code)
	idm := d.idm()
	if err := d.done(); err != nil {
		return IDm{}, err
	}
	return idm, nil
}

// appendReservedCommand encodes the commands "IDm 00 00" (Request
// Specification Version, Reset Mode).
func appendReservedCommand(dst []byte, f Framing, code Code, idm IDm) ([]byte, error) {
	e := newEncoder(dst, f, code, 10)
	e.bytes(idm[:])
	e.u16le(0)
	return e.finish()
}

func parseReservedCommand(frame []byte, f Framing, code Code) (IDm, error) {
	d := openPacket(frame, f, code)
	idm := d.idm()
	at := d.off
	if v := d.u16le("reserved bytes"); v != 0 {
		d.fail(at, ErrMalformed, "reserved bytes %04X, want 0000", v)
	}
	if err := d.done(); err != nil {
		return IDm{}, err
	}
	return idm, nil
}

// RequestResponseCommand asks for the card's current mode.
type RequestResponseCommand struct {
	IDm IDm
}

// Append appends the command frame to dst.
func (c RequestResponseCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendIDmCommand(dst, f, CodeRequestResponse, c.IDm)
}

// ParseRequestResponseCommand parses a Request Response command frame.
func ParseRequestResponseCommand(frame []byte, f Framing) (RequestResponseCommand, error) {
	idm, err := parseIDmCommand(frame, f, CodeRequestResponse)
	return RequestResponseCommand{IDm: idm}, err
}

// MaxMode is the highest card mode (0 after Polling, up to 3 once authenticated).
const MaxMode = 3

// RequestResponseResponse gives the card's mode, 0..3.
type RequestResponseResponse struct {
	IDm  IDm
	Mode uint8
}

// Append appends the response frame to dst.
func (r RequestResponseResponse) Append(dst []byte, f Framing) ([]byte, error) {
	if r.Mode > MaxMode {
		return dst, buildError(CodeRequestResponseResponse, ErrBadParameter, "mode %d, want 0..%d", r.Mode, MaxMode)
	}
	e := newEncoder(dst, f, CodeRequestResponseResponse, 9)
	e.bytes(r.IDm[:])
	e.u8(r.Mode)
	return e.finish()
}

// ParseRequestResponseResponse parses a Request Response response to a
// command sent to idm.
func ParseRequestResponseResponse(frame []byte, f Framing, idm IDm) (RequestResponseResponse, error) {
	return parseRequestResponseResponse(frame, f, &idm)
}

func parseRequestResponseResponse(frame []byte, f Framing, idm *IDm) (RequestResponseResponse, error) {
	d := openPacket(frame, f, CodeRequestResponseResponse)
	r := RequestResponseResponse{IDm: d.expectIDm(idm)}
	at := d.off
	r.Mode = d.u8("mode")
	if r.Mode > MaxMode {
		d.fail(at, ErrMalformed, "mode %d, want 0..%d", r.Mode, MaxMode)
	}
	if err := d.done(); err != nil {
		return RequestResponseResponse{}, err
	}
	return r, nil
}

// RequestSystemCodeCommand asks for the systems on the card.
type RequestSystemCodeCommand struct {
	IDm IDm
}

// Append appends the command frame to dst.
func (c RequestSystemCodeCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendIDmCommand(dst, f, CodeRequestSystemCode, c.IDm)
}

// ParseRequestSystemCodeCommand parses a Request System Code command frame.
func ParseRequestSystemCodeCommand(frame []byte, f Framing) (RequestSystemCodeCommand, error) {
	idm, err := parseIDmCommand(frame, f, CodeRequestSystemCode)
	return RequestSystemCodeCommand{IDm: idm}, err
}

// RequestSystemCodeResponse lists the card's system codes (big-endian on the air).
type RequestSystemCodeResponse struct {
	IDm         IDm
	SystemCodes []SystemCode
}

// Append appends the response frame to dst; at least one system code.
func (r RequestSystemCodeResponse) Append(dst []byte, f Framing) ([]byte, error) {
	if len(r.SystemCodes) == 0 || len(r.SystemCodes) > 0xFF {
		return dst, buildError(CodeRequestSystemCodeResponse, ErrCountMismatch, "%d system codes, want 1..255", len(r.SystemCodes))
	}
	e := newEncoder(dst, f, CodeRequestSystemCodeResponse, 9+2*len(r.SystemCodes))
	e.bytes(r.IDm[:])
	e.u8(byte(len(r.SystemCodes)))
	for _, s := range r.SystemCodes {
		e.u16be(uint16(s))
	}
	return e.finish()
}

// ParseRequestSystemCodeResponse parses a Request System Code response to a
// command sent to idm.
func ParseRequestSystemCodeResponse(frame []byte, f Framing, idm IDm) (RequestSystemCodeResponse, error) {
	return parseRequestSystemCodeResponse(frame, f, &idm)
}

func parseRequestSystemCodeResponse(frame []byte, f Framing, idm *IDm) (RequestSystemCodeResponse, error) {
	d := openPacket(frame, f, CodeRequestSystemCodeResponse)
	r := RequestSystemCodeResponse{IDm: d.expectIDm(idm)}
	n := int(d.u8("number of system codes"))
	if d.err == nil && d.remaining() != 2*n {
		d.fail(d.off, ErrCountMismatch, "%d system codes need %d bytes, have %d", n, 2*n, d.remaining())
	}
	if d.err == nil {
		r.SystemCodes = make([]SystemCode, n)
		for i := range r.SystemCodes {
			r.SystemCodes[i] = SystemCode(d.u16be("system code"))
		}
	}
	if err := d.done(); err != nil {
		return RequestSystemCodeResponse{}, err
	}
	return r, nil
}

// ResetModeCommand returns the card to mode 0.
type ResetModeCommand struct {
	IDm IDm
}

// Append appends the command frame to dst.
func (c ResetModeCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendReservedCommand(dst, f, CodeResetMode, c.IDm)
}

// ParseResetModeCommand parses a Reset Mode command frame; its two reserved
// bytes must be zero.
func ParseResetModeCommand(frame []byte, f Framing) (ResetModeCommand, error) {
	idm, err := parseReservedCommand(frame, f, CodeResetMode)
	return ResetModeCommand{IDm: idm}, err
}

// ResetModeResponse answers Reset Mode with status flags.
type ResetModeResponse struct {
	IDm    IDm
	Status Status
}

// Append appends the response frame to dst.
func (r ResetModeResponse) Append(dst []byte, f Framing) ([]byte, error) {
	return appendStatusResponse(dst, f, CodeResetModeResponse, r.IDm, r.Status)
}

// ParseResetModeResponse parses a Reset Mode response to a command sent to idm.
func ParseResetModeResponse(frame []byte, f Framing, idm IDm) (ResetModeResponse, error) {
	id, st, err := parseStatusResponse(frame, f, CodeResetModeResponse, &idm)
	return ResetModeResponse{IDm: id, Status: st}, err
}
