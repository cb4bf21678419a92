package felica

// RequestCode says what a Polling response adds after IDm and PMm.
type RequestCode uint8

// Request codes.
const (
	RequestNone            RequestCode = 0x00 // nothing
	RequestSystemCode      RequestCode = 0x01 // the system code
	RequestCommPerformance RequestCode = 0x02 // communication performance
)

// PollingCommand finds cards of a system. It carries no IDm.
type PollingCommand struct {
	SystemCode  SystemCode // FF bytes are wildcards
	RequestCode RequestCode
	// TimeSlot is the number of slots minus one: 0, 1, 3, 7 or 15.
	TimeSlot uint8
}

// Append appends the command frame to dst.
func (c PollingCommand) Append(dst []byte, f Framing) ([]byte, error) {
	switch c.TimeSlot {
	case 0x00, 0x01, 0x03, 0x07, 0x0F:
	default:
		return dst, buildError(CodePolling, ErrBadParameter, "time slot 0x%02X, want 00, 01, 03, 07 or 0F", c.TimeSlot)
	}
	e := newEncoder(dst, f, CodePolling, 4)
	e.u16be(uint16(c.SystemCode))
	e.u8(byte(c.RequestCode))
	e.u8(c.TimeSlot)
	return e.finish()
}

// ParsePollingCommand parses a Polling command frame.
func ParsePollingCommand(frame []byte, f Framing) (PollingCommand, error) {
	d := openPacket(frame, f, CodePolling)
	c := PollingCommand{
		SystemCode:  SystemCode(d.u16be("system code")),
		RequestCode: RequestCode(d.u8("request code")),
		TimeSlot:    d.u8("time slot"),
	}
	if err := d.done(); err != nil {
		return PollingCommand{}, err
	}
	return c, nil
}

// PollingResponse answers Polling with the card's IDm and PMm, and two bytes
// of request data (big-endian) when the command's request code was not 0.
type PollingResponse struct {
	IDm            IDm
	PMm            PMm
	RequestData    uint16
	HasRequestData bool
}

// Append appends the response frame to dst.
func (r PollingResponse) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodePollingResponse, 18)
	e.bytes(r.IDm[:])
	e.bytes(r.PMm[:])
	if r.HasRequestData {
		e.u16be(r.RequestData)
	}
	return e.finish()
}

// ParsePollingResponse parses a Polling response frame. It takes no IDm:
// Polling is how the reader learns it.
func ParsePollingResponse(frame []byte, f Framing) (PollingResponse, error) {
	d := openPacket(frame, f, CodePollingResponse)
	r := PollingResponse{IDm: d.idm()}
	d.copyTo(r.PMm[:], "PMm")
	if d.err == nil && d.remaining() > 0 {
		r.RequestData, r.HasRequestData = d.u16be("request data"), true
	}
	if err := d.done(); err != nil {
		return PollingResponse{}, err
	}
	return r, nil
}
