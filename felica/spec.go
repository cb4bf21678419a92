package felica

// RequestSpecVersionCommand asks for the card OS version and its options.
type RequestSpecVersionCommand struct {
	IDm IDm
}

// Append appends the command frame to dst.
func (c RequestSpecVersionCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendReservedCommand(dst, f, CodeRequestSpecVersion, c.IDm)
}

// ParseRequestSpecVersionCommand parses a Request Specification Version
// command frame; its two reserved bytes must be zero.
func ParseRequestSpecVersionCommand(frame []byte, f Framing) (RequestSpecVersionCommand, error) {
	idm, err := parseReservedCommand(frame, f, CodeRequestSpecVersion)
	return RequestSpecVersionCommand{IDm: idm}, err
}

// RequestSpecVersionResponse carries status flags and, on success, the format
// version, the basic version and one version per option (DES, AES, ...).
// Versions are kept as the little-endian 16-bit values the card sends
// (bytes 00 85 read 0x8500); their BCD meaning is left to the caller.
type RequestSpecVersionResponse struct {
	IDm            IDm
	Status         Status
	Format         byte
	BasicVersion   uint16
	OptionVersions []uint16
}

// Append appends the response frame to dst.
func (r RequestSpecVersionResponse) Append(dst []byte, f Framing) ([]byte, error) {
	if len(r.OptionVersions) > 0xFF {
		return dst, buildError(CodeRequestSpecVersionResponse, ErrCountMismatch, "%d option versions, max 255", len(r.OptionVersions))
	}
	e := newEncoder(dst, f, CodeRequestSpecVersionResponse, 14+2*len(r.OptionVersions))
	e.bytes(r.IDm[:])
	e.u8(r.Status.SF1)
	e.u8(r.Status.SF2)
	if r.Status.OK() {
		e.u8(r.Format)
		e.u16le(r.BasicVersion)
		e.u8(byte(len(r.OptionVersions)))
		e.keyVersions(r.OptionVersions)
	}
	return e.finish()
}

// ParseRequestSpecVersionResponse parses a Request Specification Version
// response to a command sent to idm.
func ParseRequestSpecVersionResponse(frame []byte, f Framing, idm IDm) (RequestSpecVersionResponse, error) {
	return parseRequestSpecVersionResponse(frame, f, &idm)
}

func parseRequestSpecVersionResponse(frame []byte, f Framing, idm *IDm) (RequestSpecVersionResponse, error) {
	d := openPacket(frame, f, CodeRequestSpecVersionResponse)
	r := RequestSpecVersionResponse{IDm: d.expectIDm(idm), Status: d.status()}
	if d.err == nil && r.Status.OK() {
		r.Format = d.u8("format version")
		r.BasicVersion = d.u16le("basic version")
		n := int(d.u8("number of options"))
		if d.err == nil && d.remaining() != 2*n {
			d.fail(d.off, ErrCountMismatch, "%d option versions need %d bytes, have %d", n, 2*n, d.remaining())
		}
		r.OptionVersions = d.keyVersions(n)
	}
	if err := d.done(); err != nil {
		return RequestSpecVersionResponse{}, err
	}
	return r, nil
}
