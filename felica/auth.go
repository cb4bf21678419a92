package felica

// The Authentication commands are framed here; their cryptography (DES, AES
// session keys and MACs) is not this package's job.

// MaxAuthNodes is the most areas plus services one Authentication1 names.
const MaxAuthNodes = 16

// Auth1Command is Authentication1 (DES): the areas and services to open and
// the reader's challenge.
type Auth1Command struct {
	IDm         IDm
	Areas       []NodeCode
	Services    []NodeCode
	Challenge1A [8]byte
}

// Append appends the command frame to dst; 1..16 areas and services in all.
func (c Auth1Command) Append(dst []byte, f Framing) ([]byte, error) {
	if n := len(c.Areas) + len(c.Services); n < 1 || n > MaxAuthNodes || len(c.Areas) > 0xFF {
		return dst, buildError(CodeAuth1, ErrServiceCount, "%d areas and %d services, want 1..%d in all", len(c.Areas), len(c.Services), MaxAuthNodes)
	}
	e := newEncoder(dst, f, CodeAuth1, 8+2+2*(len(c.Areas)+len(c.Services))+8)
	e.bytes(c.IDm[:])
	e.u8(byte(len(c.Areas)))
	e.nodes(c.Areas)
	e.u8(byte(len(c.Services)))
	e.nodes(c.Services)
	e.bytes(c.Challenge1A[:])
	return e.finish()
}

// ParseAuth1Command parses an Authentication1 command frame.
func ParseAuth1Command(frame []byte, f Framing) (Auth1Command, error) {
	d := openPacket(frame, f, CodeAuth1)
	c := Auth1Command{IDm: d.idm()}
	c.Areas = d.nodes(int(d.u8("number of areas")), "area codes")
	c.Services = d.nodes(int(d.u8("number of services")), "service codes")
	d.copyTo(c.Challenge1A[:], "challenge 1A")
	if err := d.done(); err != nil {
		return Auth1Command{}, err
	}
	return c, nil
}

// Auth1Response answers Authentication1 with the card's challenges.
type Auth1Response struct {
	IDm         IDm
	Challenge1B [8]byte
	Challenge2A [8]byte
}

// Append appends the response frame to dst.
func (r Auth1Response) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeAuth1Response, 24)
	e.bytes(r.IDm[:])
	e.bytes(r.Challenge1B[:])
	e.bytes(r.Challenge2A[:])
	return e.finish()
}

// ParseAuth1Response parses an Authentication1 response to a command sent to idm.
func ParseAuth1Response(frame []byte, f Framing, idm IDm) (Auth1Response, error) {
	return parseAuth1Response(frame, f, &idm)
}

func parseAuth1Response(frame []byte, f Framing, idm *IDm) (Auth1Response, error) {
	d := openPacket(frame, f, CodeAuth1Response)
	r := Auth1Response{IDm: d.expectIDm(idm)}
	d.copyTo(r.Challenge1B[:], "challenge 1B")
	d.copyTo(r.Challenge2A[:], "challenge 2A")
	if err := d.done(); err != nil {
		return Auth1Response{}, err
	}
	return r, nil
}

// Auth2Command is Authentication2 (DES): the reader's answer to challenge 2A.
type Auth2Command struct {
	IDm         IDm
	Challenge2B [8]byte
}

// Append appends the command frame to dst.
func (c Auth2Command) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeAuth2, 16)
	e.bytes(c.IDm[:])
	e.bytes(c.Challenge2B[:])
	return e.finish()
}

// ParseAuth2Command parses an Authentication2 command frame.
func ParseAuth2Command(frame []byte, f Framing) (Auth2Command, error) {
	d := openPacket(frame, f, CodeAuth2)
	c := Auth2Command{IDm: d.idm()}
	d.copyTo(c.Challenge2B[:], "challenge 2B")
	if err := d.done(); err != nil {
		return Auth2Command{}, err
	}
	return c, nil
}

// Auth2Response carries the encrypted IDt and PMm; it has no clear IDm.
type Auth2Response struct {
	Encrypted [32]byte
}

// Append appends the response frame to dst.
func (r Auth2Response) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeAuth2Response, 32)
	e.bytes(r.Encrypted[:])
	return e.finish()
}

// ParseAuth2Response parses an Authentication2 response. It takes no IDm:
// the response carries none in clear.
func ParseAuth2Response(frame []byte, f Framing) (Auth2Response, error) {
	d := openPacket(frame, f, CodeAuth2Response)
	var r Auth2Response
	d.copyTo(r.Encrypted[:], "encrypted data")
	if err := d.done(); err != nil {
		return Auth2Response{}, err
	}
	return r, nil
}

// Auth1V2Command is Authentication1 v2 (AES): an operation parameter, the
// nodes to open and the reader's challenge.
type Auth1V2Command struct {
	IDm         IDm
	OpParam     byte
	Nodes       []NodeCode
	Challenge1A [16]byte
}

// Append appends the command frame to dst; 1..16 nodes.
func (c Auth1V2Command) Append(dst []byte, f Framing) ([]byte, error) {
	if err := checkNodeCount(CodeAuth1V2, len(c.Nodes), MaxAuthNodes); err != nil {
		return dst, err
	}
	e := newEncoder(dst, f, CodeAuth1V2, 8+2+2*len(c.Nodes)+16)
	e.bytes(c.IDm[:])
	e.u8(c.OpParam)
	e.u8(byte(len(c.Nodes)))
	e.nodes(c.Nodes)
	e.bytes(c.Challenge1A[:])
	return e.finish()
}

// ParseAuth1V2Command parses an Authentication1 v2 command frame.
func ParseAuth1V2Command(frame []byte, f Framing) (Auth1V2Command, error) {
	d := openPacket(frame, f, CodeAuth1V2)
	c := Auth1V2Command{IDm: d.idm(), OpParam: d.u8("operation parameter")}
	c.Nodes = d.nodes(int(d.u8("number of nodes")), "node codes")
	d.copyTo(c.Challenge1A[:], "challenge 1A")
	if err := d.done(); err != nil {
		return Auth1V2Command{}, err
	}
	return c, nil
}

// Auth1V2Response answers Authentication1 v2 with the card's challenges.
type Auth1V2Response struct {
	IDm         IDm
	Challenge1B [16]byte
	Challenge2A [16]byte
	Challenge3C [4]byte
}

// Append appends the response frame to dst.
func (r Auth1V2Response) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeAuth1V2Response, 44)
	e.bytes(r.IDm[:])
	e.bytes(r.Challenge1B[:])
	e.bytes(r.Challenge2A[:])
	e.bytes(r.Challenge3C[:])
	return e.finish()
}

// ParseAuth1V2Response parses an Authentication1 v2 response to a command sent to idm.
func ParseAuth1V2Response(frame []byte, f Framing, idm IDm) (Auth1V2Response, error) {
	return parseAuth1V2Response(frame, f, &idm)
}

func parseAuth1V2Response(frame []byte, f Framing, idm *IDm) (Auth1V2Response, error) {
	d := openPacket(frame, f, CodeAuth1V2Response)
	r := Auth1V2Response{IDm: d.expectIDm(idm)}
	d.copyTo(r.Challenge1B[:], "challenge 1B")
	d.copyTo(r.Challenge2A[:], "challenge 2A")
	d.copyTo(r.Challenge3C[:], "challenge 3C")
	if err := d.done(); err != nil {
		return Auth1V2Response{}, err
	}
	return r, nil
}

// Auth2V2Command is Authentication2 v2: the reader's answer to challenge 2A.
type Auth2V2Command struct {
	IDm         IDm
	Challenge2B [16]byte
}

// Append appends the command frame to dst.
func (c Auth2V2Command) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeAuth2V2, 24)
	e.bytes(c.IDm[:])
	e.bytes(c.Challenge2B[:])
	return e.finish()
}

// ParseAuth2V2Command parses an Authentication2 v2 command frame.
func ParseAuth2V2Command(frame []byte, f Framing) (Auth2V2Command, error) {
	d := openPacket(frame, f, CodeAuth2V2)
	c := Auth2V2Command{IDm: d.idm()}
	d.copyTo(c.Challenge2B[:], "challenge 2B")
	if err := d.done(); err != nil {
		return Auth2V2Command{}, err
	}
	return c, nil
}

// Auth2V2Response carries the transaction number, the encrypted payload and
// its MAC; it has no clear IDm.
type Auth2V2Response struct {
	// Transaction is the card's first transaction number (TN0), little-endian
	// on the air like the TN of Read v2 and Write v2.
	Transaction uint16
	Payload     [16]byte // ciphertext of IDi and PMi
	MAC         [8]byte  // encrypted MAC
}

// Append appends the response frame to dst.
func (r Auth2V2Response) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeAuth2V2Response, 26)
	e.u16le(r.Transaction)
	e.bytes(r.Payload[:])
	e.bytes(r.MAC[:])
	return e.finish()
}

// ParseAuth2V2Response parses an Authentication2 v2 response. It takes no
// IDm: the response carries none in clear.
func ParseAuth2V2Response(frame []byte, f Framing) (Auth2V2Response, error) {
	d := openPacket(frame, f, CodeAuth2V2Response)
	r := Auth2V2Response{Transaction: d.u16le("transaction number")}
	d.copyTo(r.Payload[:], "encrypted payload")
	d.copyTo(r.MAC[:], "encrypted MAC")
	if err := d.done(); err != nil {
		return Auth2V2Response{}, err
	}
	return r, nil
}
