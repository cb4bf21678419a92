package felica

// Limits of the node lists.
const (
	// MaxRequestServiceNodes is the most nodes one Request Service (v2) asks about.
	MaxRequestServiceNodes = 32
	// KeyVersionNone is the key version a card gives for a node it does not have.
	KeyVersionNone = 0xFFFF
)

func checkNodeCount(code Code, n, max int) error {
	if n < 1 || n > max {
		return buildError(code, ErrServiceCount, "%d nodes, want 1..%d", n, max)
	}
	return nil
}

// appendNodeList encodes the shared body "n node[n]" of Request Service and v2.
func appendNodeList(dst []byte, f Framing, code Code, idm IDm, nodes []NodeCode) ([]byte, error) {
	if err := checkNodeCount(code, len(nodes), MaxRequestServiceNodes); err != nil {
		return dst, err
	}
	e := newEncoder(dst, f, code, 9+2*len(nodes))
	e.bytes(idm[:])
	e.u8(byte(len(nodes)))
	e.nodes(nodes)
	return e.finish()
}

func parseNodeList(frame []byte, f Framing, code Code) (IDm, []NodeCode, error) {
	d := openPacket(frame, f, code)
	idm := d.idm()
	nodes := d.nodes(int(d.u8("number of nodes")), "node codes")
	if err := d.done(); err != nil {
		return IDm{}, nil, err
	}
	return idm, nodes, nil
}

// keyVersions reads n little-endian key versions.
func (d *decoder) keyVersions(n int) []uint16 {
	if d.err != nil {
		return nil
	}
	if d.remaining() < 2*n {
		d.fail(d.off, ErrCountMismatch, "%d key versions need %d bytes, %d left", n, 2*n, d.remaining())
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = d.u16le("key version")
	}
	return out
}

func (e *encoder) keyVersions(v []uint16) {
	for _, k := range v {
		e.u16le(k)
	}
}

// RequestServiceCommand asks for the key versions of areas and services; it
// tells whether they exist.
type RequestServiceCommand struct {
	IDm   IDm
	Nodes []NodeCode
}

// Append appends the command frame to dst; 1..32 nodes.
func (c RequestServiceCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendNodeList(dst, f, CodeRequestService, c.IDm, c.Nodes)
}

// ParseRequestServiceCommand parses a Request Service command frame. It
// accepts any node count the bytes carry.
func ParseRequestServiceCommand(frame []byte, f Framing) (RequestServiceCommand, error) {
	idm, nodes, err := parseNodeList(frame, f, CodeRequestService)
	return RequestServiceCommand{IDm: idm, Nodes: nodes}, err
}

// RequestServiceResponse gives a key version per node asked, KeyVersionNone
// for nodes the card does not have. It carries no status flags.
type RequestServiceResponse struct {
	IDm         IDm
	KeyVersions []uint16
}

// Append appends the response frame to dst; 1..32 key versions.
func (r RequestServiceResponse) Append(dst []byte, f Framing) ([]byte, error) {
	if err := checkNodeCount(CodeRequestServiceResponse, len(r.KeyVersions), MaxRequestServiceNodes); err != nil {
		return dst, err
	}
	e := newEncoder(dst, f, CodeRequestServiceResponse, 9+2*len(r.KeyVersions))
	e.bytes(r.IDm[:])
	e.u8(byte(len(r.KeyVersions)))
	e.keyVersions(r.KeyVersions)
	return e.finish()
}

// ParseRequestServiceResponse parses a Request Service response to a command
// sent to idm.
func ParseRequestServiceResponse(frame []byte, f Framing, idm IDm) (RequestServiceResponse, error) {
	return parseRequestServiceResponse(frame, f, &idm)
}

func parseRequestServiceResponse(frame []byte, f Framing, idm *IDm) (RequestServiceResponse, error) {
	d := openPacket(frame, f, CodeRequestServiceResponse)
	r := RequestServiceResponse{IDm: d.expectIDm(idm)}
	r.KeyVersions = d.keyVersions(int(d.u8("number of nodes")))
	if err := d.done(); err != nil {
		return RequestServiceResponse{}, err
	}
	return r, nil
}

// RequestServiceV2Command asks for the AES (and DES) key versions of nodes.
type RequestServiceV2Command struct {
	IDm   IDm
	Nodes []NodeCode
}

// Append appends the command frame to dst; 1..32 nodes.
func (c RequestServiceV2Command) Append(dst []byte, f Framing) ([]byte, error) {
	return appendNodeList(dst, f, CodeRequestServiceV2, c.IDm, c.Nodes)
}

// ParseRequestServiceV2Command parses a Request Service v2 command frame.
func ParseRequestServiceV2Command(frame []byte, f Framing) (RequestServiceV2Command, error) {
	idm, nodes, err := parseNodeList(frame, f, CodeRequestServiceV2)
	return RequestServiceV2Command{IDm: idm, Nodes: nodes}, err
}

// RequestServiceV2Response carries status flags and, on success, the
// encryption identifier, the AES key versions and, on cards that also speak
// DES, as many DES key versions. On error only IDm and Status are set.
type RequestServiceV2Response struct {
	IDm            IDm
	Status         Status
	EncryptionID   byte
	AESKeyVersions []uint16
	DESKeyVersions []uint16 // nil or as long as AESKeyVersions
}

// Append appends the response frame to dst.
func (r RequestServiceV2Response) Append(dst []byte, f Framing) ([]byte, error) {
	code := CodeRequestServiceV2Response
	if r.Status.OK() {
		if err := checkNodeCount(code, len(r.AESKeyVersions), MaxRequestServiceNodes); err != nil {
			return dst, err
		}
		if r.DESKeyVersions != nil && len(r.DESKeyVersions) != len(r.AESKeyVersions) {
			return dst, buildError(code, ErrCountMismatch, "%d DES key versions for %d AES", len(r.DESKeyVersions), len(r.AESKeyVersions))
		}
	}
	e := newEncoder(dst, f, code, 12+2*(len(r.AESKeyVersions)+len(r.DESKeyVersions)))
	e.bytes(r.IDm[:])
	e.u8(r.Status.SF1)
	e.u8(r.Status.SF2)
	if r.Status.OK() {
		e.u8(r.EncryptionID)
		e.u8(byte(len(r.AESKeyVersions)))
		e.keyVersions(r.AESKeyVersions)
		e.keyVersions(r.DESKeyVersions)
	}
	return e.finish()
}

// ParseRequestServiceV2Response parses a Request Service v2 response to a
// command sent to idm. Whether DES key versions follow is told by the length.
func ParseRequestServiceV2Response(frame []byte, f Framing, idm IDm) (RequestServiceV2Response, error) {
	return parseRequestServiceV2Response(frame, f, &idm)
}

func parseRequestServiceV2Response(frame []byte, f Framing, idm *IDm) (RequestServiceV2Response, error) {
	d := openPacket(frame, f, CodeRequestServiceV2Response)
	r := RequestServiceV2Response{IDm: d.expectIDm(idm), Status: d.status()}
	if d.err == nil && r.Status.OK() {
		r.EncryptionID = d.u8("encryption identifier")
		n := int(d.u8("number of nodes"))
		r.AESKeyVersions = d.keyVersions(n)
		if d.err == nil && n > 0 && d.remaining() == 2*n {
			r.DESKeyVersions = d.keyVersions(n)
		}
	}
	if err := d.done(); err != nil {
		return RequestServiceV2Response{}, err
	}
	return r, nil
}
