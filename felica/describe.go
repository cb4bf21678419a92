package felica

import (
	"fmt"
	"strings"
)

// Describe renders any command or response frame as one human-readable line
// (command name, IDm, services, block elements, status flags by name, block
// data in hex), or says why it cannot. It never panics. Response IDms are
// shown, not checked.
func Describe(frame []byte, f Framing) string {
	code, err := PeekCode(frame, f)
	if err != nil {
		return fmt.Sprintf("unreadable frame %X: %v", frame, err)
	}
	var s fmt.Stringer
	switch code {
	case CodePolling:
		s, err = ParsePollingCommand(frame, f)
	case CodePollingResponse:
		s, err = ParsePollingResponse(frame, f)
	case CodeRequestService:
		s, err = ParseRequestServiceCommand(frame, f)
	case CodeRequestServiceResponse:
		s, err = parseRequestServiceResponse(frame, f, nil)
	case CodeRequestResponse:
		s, err = ParseRequestResponseCommand(frame, f)
	case CodeRequestResponseResponse:
		s, err = parseRequestResponseResponse(frame, f, nil)
	case CodeRead:
		s, err = ParseReadCommand(frame, f)
	case CodeReadResponse:
		s, err = parseReadResponse(frame, f, nil)
	case CodeWrite:
		s, err = ParseWriteCommand(frame, f)
	case CodeWriteResponse:
		var r WriteResponse
		r.IDm, r.Status, err = parseStatusResponse(frame, f, CodeWriteResponse, nil)
		s = r
	case CodeSearchServiceCode:
		s, err = ParseSearchServiceCodeCommand(frame, f)
	case CodeSearchServiceCodeResponse:
		s, err = parseSearchServiceCodeResponse(frame, f, nil)
	case CodeRequestSystemCode:
		s, err = ParseRequestSystemCodeCommand(frame, f)
	case CodeRequestSystemCodeResponse:
		s, err = parseRequestSystemCodeResponse(frame, f, nil)
	case CodeAuth1:
		s, err = ParseAuth1Command(frame, f)
	case CodeAuth1Response:
		s, err = parseAuth1Response(frame, f, nil)
	case CodeAuth2:
		s, err = ParseAuth2Command(frame, f)
	case CodeAuth2Response:
		s, err = ParseAuth2Response(frame, f)
	case CodeRequestServiceV2:
		s, err = ParseRequestServiceV2Command(frame, f)
	case CodeRequestServiceV2Response:
		s, err = parseRequestServiceV2Response(frame, f, nil)
	case CodeRequestSpecVersion:
		s, err = ParseRequestSpecVersionCommand(frame, f)
	case CodeRequestSpecVersionResponse:
		s, err = parseRequestSpecVersionResponse(frame, f, nil)
	case CodeResetMode:
		s, err = ParseResetModeCommand(frame, f)
	case CodeResetModeResponse:
		var r ResetModeResponse
		r.IDm, r.Status, err = parseStatusResponse(frame, f, CodeResetModeResponse, nil)
		s = r
	case CodeAuth1V2:
		s, err = ParseAuth1V2Command(frame, f)
	case CodeAuth1V2Response:
		s, err = parseAuth1V2Response(frame, f, nil)
	case CodeAuth2V2:
		s, err = ParseAuth2V2Command(frame, f)
	case CodeAuth2V2Response:
		s, err = ParseAuth2V2Response(frame, f)
	case CodeReadV2:
		s, err = ParseReadV2Command(frame, f)
	case CodeReadV2Response:
		s, err = ParseReadV2Response(frame, f)
	case CodeWriteV2:
		s, err = ParseWriteV2Command(frame, f)
	case CodeWriteV2Response:
		s, err = ParseWriteV2Response(frame, f)
	case CodeReadDES:
		s, err = ParseReadDESCommand(frame, f)
	case CodeReadDESResponse:
		s, err = ParseReadDESResponse(frame, f)
	case CodeWriteDES:
		s, err = ParseWriteDESCommand(frame, f)
	case CodeWriteDESResponse:
		s, err = ParseWriteDESResponse(frame, f)
	default:
		return fmt.Sprintf("unknown %s %X", code, frame)
	}
	if err != nil {
		return fmt.Sprintf("malformed %s %X: %v", code, frame, err)
	}
	return s.String()
}

// line builds one description: the frame's name, then key=value fields.
type line struct{ strings.Builder }

func newLine(code Code) *line {
	l := &line{}
	l.WriteString(code.String())
	return l
}

func (l *line) field(key string, format string, args ...any) *line {
	fmt.Fprintf(l, " %s=", key)
	fmt.Fprintf(l, format, args...)
	return l
}

func (l *line) idm(id IDm) *line { return l.field("IDm", "%s", id) }

func (l *line) nodes(key string, nodes []NodeCode) *line {
	labels := make([]string, len(nodes))
	for i, n := range nodes {
		labels[i] = n.Label()
	}
	return l.field(key, "[%s]", strings.Join(labels, ", "))
}

func (l *line) hex16s(key string, values []uint16) *line {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%04X", v)
	}
	return l.field(key, "[%s]", strings.Join(parts, " "))
}

func (l *line) blocks(blocks []BlockElement) *line {
	parts := make([]string, len(blocks))
	for i, b := range blocks {
		parts[i] = b.String()
	}
	return l.field("blocks", "[%s]", strings.Join(parts, " "))
}

func (l *line) data(data []byte) *line {
	parts := make([]string, 0, len(data)/BlockSize+1)
	for len(data) > 0 {
		n := min(BlockSize, len(data))
		parts = append(parts, fmt.Sprintf("%X", data[:n]))
		data = data[n:]
	}
	return l.field("data", "[%s]", strings.Join(parts, " "))
}

func (c PollingCommand) String() string {
	return newLine(CodePolling).field("system", "%s", c.SystemCode).
		field("request", "%02X", byte(c.RequestCode)).field("timeslot", "%02X", c.TimeSlot).String()
}

func (r PollingResponse) String() string {
	l := newLine(CodePollingResponse).idm(r.IDm).field("PMm", "%s", r.PMm)
	if r.HasRequestData {
		l.field("request-data", "%04X", r.RequestData)
	}
	return l.String()
}

func (c RequestServiceCommand) String() string {
	return newLine(CodeRequestService).idm(c.IDm).nodes("nodes", c.Nodes).String()
}

func (r RequestServiceResponse) String() string {
	return newLine(CodeRequestServiceResponse).idm(r.IDm).hex16s("key-versions", r.KeyVersions).String()
}

func (c RequestServiceV2Command) String() string {
	return newLine(CodeRequestServiceV2).idm(c.IDm).nodes("nodes", c.Nodes).String()
}

func (r RequestServiceV2Response) String() string {
	l := newLine(CodeRequestServiceV2Response).idm(r.IDm).field("status", "%s", r.Status)
	if r.Status.OK() {
		l.field("encryption", "%02X", r.EncryptionID).hex16s("aes-key-versions", r.AESKeyVersions)
		if r.DESKeyVersions != nil {
			l.hex16s("des-key-versions", r.DESKeyVersions)
		}
	}
	return l.String()
}

func (c RequestResponseCommand) String() string {
	return newLine(CodeRequestResponse).idm(c.IDm).String()
}

func (r RequestResponseResponse) String() string {
	return newLine(CodeRequestResponseResponse).idm(r.IDm).field("mode", "%d", r.Mode).String()
}

func (c ReadCommand) String() string {
	return newLine(CodeRead).idm(c.IDm).nodes("services", c.Services).blocks(c.Blocks).String()
}

func (r ReadResponse) String() string {
	l := newLine(CodeReadResponse).idm(r.IDm).field("status", "%s", r.Status)
	if r.Status.OK() {
		l.field("count", "%d", r.Count()).data(r.Data)
	}
	return l.String()
}

func (c WriteCommand) String() string {
	return newLine(CodeWrite).idm(c.IDm).nodes("services", c.Services).blocks(c.Blocks).data(c.Data).String()
}

func (r WriteResponse) String() string {
	return newLine(CodeWriteResponse).idm(r.IDm).field("status", "%s", r.Status).String()
}

func (c SearchServiceCodeCommand) String() string {
	return newLine(CodeSearchServiceCode).idm(c.IDm).field("index", "%d", c.Index).String()
}

func (r SearchServiceCodeResponse) String() string {
	l := newLine(CodeSearchServiceCodeResponse).idm(r.IDm)
	switch {
	case r.Exhausted():
		l.WriteString(" end-of-list")
	case r.Node.IsArea():
		l.field("area", "%s", r.Area())
	default:
		l.field("node", "%s", r.Node.Label())
	}
	return l.String()
}

func (c RequestSystemCodeCommand) String() string {
	return newLine(CodeRequestSystemCode).idm(c.IDm).String()
}

func (r RequestSystemCodeResponse) String() string {
	codes := make([]uint16, len(r.SystemCodes))
	for i, s := range r.SystemCodes {
		codes[i] = uint16(s)
	}
	return newLine(CodeRequestSystemCodeResponse).idm(r.IDm).hex16s("systems", codes).String()
}

func (c Auth1Command) String() string {
	return newLine(CodeAuth1).idm(c.IDm).nodes("areas", c.Areas).nodes("services", c.Services).
		field("challenge1A", "%X", c.Challenge1A).String()
}

func (r Auth1Response) String() string {
	return newLine(CodeAuth1Response).idm(r.IDm).field("challenge1B", "%X", r.Challenge1B).
		field("challenge2A", "%X", r.Challenge2A).String()
}

func (c Auth2Command) String() string {
	return newLine(CodeAuth2).idm(c.IDm).field("challenge2B", "%X", c.Challenge2B).String()
}

func (r Auth2Response) String() string {
	return newLine(CodeAuth2Response).encrypted(r.Encrypted[:]).String()
}

func (c Auth1V2Command) String() string {
	return newLine(CodeAuth1V2).idm(c.IDm).field("op", "%02X", c.OpParam).nodes("nodes", c.Nodes).
		field("challenge1A", "%X", c.Challenge1A).String()
}

func (r Auth1V2Response) String() string {
	return newLine(CodeAuth1V2Response).idm(r.IDm).field("challenge1B", "%X", r.Challenge1B).
		field("challenge2A", "%X", r.Challenge2A).field("challenge3C", "%X", r.Challenge3C).String()
}

func (c Auth2V2Command) String() string {
	return newLine(CodeAuth2V2).idm(c.IDm).field("challenge2B", "%X", c.Challenge2B).String()
}

func (r Auth2V2Response) String() string {
	return newLine(CodeAuth2V2Response).field("transaction", "%04X", r.Transaction).
		encrypted(r.Payload[:]).field("mac", "%X", r.MAC).String()
}

// encrypted shows ciphertext as its length and bytes; the codec never has the
// keys to show more.
func (l *line) encrypted(p []byte) *line {
	return l.field("encrypted", "%d bytes %X", len(p), p)
}

func secureV2Line(code Code, tn uint16, payload []byte, mac [SecureMACSize]byte) string {
	return newLine(code).field("transaction", "%04X", tn).encrypted(payload).field("mac", "%X", mac).String()
}

func (c ReadV2Command) String() string {
	return secureV2Line(CodeReadV2, c.Transaction, c.Payload, c.MAC)
}

func (r ReadV2Response) String() string {
	return secureV2Line(CodeReadV2Response, r.Transaction, r.Payload, r.MAC)
}

func (c WriteV2Command) String() string {
	return secureV2Line(CodeWriteV2, c.Transaction, c.Payload, c.MAC)
}

func (r WriteV2Response) String() string {
	return secureV2Line(CodeWriteV2Response, r.Transaction, r.Payload[:], r.MAC)
}

func (c ReadDESCommand) String() string { return newLine(CodeReadDES).encrypted(c.Encrypted).String() }

func (r ReadDESResponse) String() string {
	return newLine(CodeReadDESResponse).encrypted(r.Encrypted).String()
}

func (c WriteDESCommand) String() string {
	return newLine(CodeWriteDES).encrypted(c.Encrypted).String()
}

func (r WriteDESResponse) String() string {
	return newLine(CodeWriteDESResponse).encrypted(r.Encrypted).String()
}

func (c RequestSpecVersionCommand) String() string {
	return newLine(CodeRequestSpecVersion).idm(c.IDm).String()
}

func (r RequestSpecVersionResponse) String() string {
	l := newLine(CodeRequestSpecVersionResponse).idm(r.IDm).field("status", "%s", r.Status)
	if r.Status.OK() {
		l.field("format", "%02X", r.Format).field("basic", "%04X", r.BasicVersion).hex16s("options", r.OptionVersions)
	}
	return l.String()
}

func (c ResetModeCommand) String() string {
	return newLine(CodeResetMode).idm(c.IDm).String()
}

func (r ResetModeResponse) String() string {
	return newLine(CodeResetModeResponse).idm(r.IDm).field("status", "%s", r.Status).String()
}
