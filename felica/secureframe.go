package felica

// The frames of an authenticated session. Their payloads are encrypted: the
// codec frames and unframes the ciphertext and leaves the cryptography to
// package felica/secure. None of them carries a clear IDm.
//
// AES (v2): LEN CODE TN(2, LE) E(payload) E(MAC8), for Read v2 (44/45) and
// Write v2 (46/47). DES (legacy): LEN CODE E(TN TID payload pad MAC), for the
// encrypted Read (14/15) and Write (16/17).
//
// The plaintext of the payloads is framed here too (secureplain.go), so that
// the reader side and the card share one codec.

// SecureMACSize is the size of the encrypted MAC that ends an AES secure frame.
const SecureMACSize = 8

// MaxSecureV2Payload is the longest encrypted payload of an AES secure frame:
// 255 bytes minus LEN, code, TN and the MAC.
const MaxSecureV2Payload = MaxFrameLen - 4 - SecureMACSize

// desBlock is the DES block size: DES secure frames carry whole blocks, at
// least two (TN, TID and the MAC).
const desBlock = 8

// appendSecureV2 encodes "TN E(payload) E(MAC)" after the code.
func appendSecureV2(dst []byte, f Framing, code Code, tn uint16, payload []byte, mac [SecureMACSize]byte, minPayload, maxPayload int) ([]byte, error) {
	if len(payload) < minPayload || len(payload) > maxPayload {
		return dst, buildError(code, ErrMalformed, "%d bytes of encrypted payload, want %d..%d", len(payload), minPayload, maxPayload)
	}
	e := newEncoder(dst, f, code, 2+len(payload)+SecureMACSize)
	e.u16le(tn)
	e.bytes(payload)
	e.bytes(mac[:])
	return e.finish()
}

// parseSecureV2 decodes "TN E(payload) E(MAC)": the payload is everything
// between TN and the last 8 bytes. It aliases the frame.
func parseSecureV2(frame []byte, f Framing, code Code, minPayload, maxPayload int) (uint16, []byte, [SecureMACSize]byte, error) {
	var mac [SecureMACSize]byte
	d := openPacket(frame, f, code)
	tn := d.u16le("transaction number")
	n := d.remaining() - SecureMACSize
	switch {
	case d.err != nil:
	case n < minPayload:
		d.fail(d.off, ErrTruncated, "%d bytes of encrypted payload and MAC, want %d..%d and %d", d.remaining(), minPayload, maxPayload, SecureMACSize)
	case n > maxPayload:
		d.fail(d.off+maxPayload+SecureMACSize, ErrTrailingData, "%d bytes of encrypted payload, at most %d", n, maxPayload)
	}
	payload := d.take(n, "encrypted payload")
	d.copyTo(mac[:], "encrypted MAC")
	if err := d.done(); err != nil {
		return 0, nil, mac, err
	}
	return tn, payload, mac, nil
}

// Minimum encrypted payloads: a Read v2 names at least one block (n and a
// 2-byte element), a Write v2 one block and its data, an answer holds at
// least its status flags; a Write v2 answer holds exactly them.
const (
	minReadV2Payload  = 3
	minWriteV2Payload = 3 + BlockSize
	statusPayload     = 2
)

// ReadV2Command is Read v2 (AES secure messaging): the transaction number,
// the encrypted block list (n blk[n], indexing the Authentication1 v2 node
// list) and the encrypted MAC. It has no IDm.
type ReadV2Command struct {
	Transaction uint16
	// Payload is ciphertext; it aliases the parsed frame.
	Payload []byte
	MAC     [SecureMACSize]byte
}

// Append appends the command frame to dst.
func (c ReadV2Command) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureV2(dst, f, CodeReadV2, c.Transaction, c.Payload, c.MAC, minReadV2Payload, MaxSecureV2Payload)
}

// ParseReadV2Command parses a Read v2 command frame.
func ParseReadV2Command(frame []byte, f Framing) (ReadV2Command, error) {
	tn, p, mac, err := parseSecureV2(frame, f, CodeReadV2, minReadV2Payload, MaxSecureV2Payload)
	if err != nil {
		return ReadV2Command{}, err
	}
	return ReadV2Command{Transaction: tn, Payload: p, MAC: mac}, nil
}

// ReadV2Response answers Read v2: the card's transaction number, the
// encrypted status flags and block data (SF1 SF2 [n data]) and the MAC.
type ReadV2Response struct {
	Transaction uint16
	// Payload is ciphertext; it aliases the parsed frame.
	Payload []byte
	MAC     [SecureMACSize]byte
}

// Append appends the response frame to dst.
func (r ReadV2Response) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureV2(dst, f, CodeReadV2Response, r.Transaction, r.Payload, r.MAC, statusPayload, MaxSecureV2Payload)
}

// ParseReadV2Response parses a Read v2 response frame. It takes no IDm: the
// frame carries none.
func ParseReadV2Response(frame []byte, f Framing) (ReadV2Response, error) {
	tn, p, mac, err := parseSecureV2(frame, f, CodeReadV2Response, statusPayload, MaxSecureV2Payload)
	if err != nil {
		return ReadV2Response{}, err
	}
	return ReadV2Response{Transaction: tn, Payload: p, MAC: mac}, nil
}

// WriteV2Command is Write v2 (AES secure messaging): the transaction number,
// the encrypted block list and data (n blk[n] data[16n]) and the MAC.
type WriteV2Command struct {
	Transaction uint16
	// Payload is ciphertext; it aliases the parsed frame.
	Payload []byte
	MAC     [SecureMACSize]byte
}

// Append appends the command frame to dst.
func (c WriteV2Command) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureV2(dst, f, CodeWriteV2, c.Transaction, c.Payload, c.MAC, minWriteV2Payload, MaxSecureV2Payload)
}

// ParseWriteV2Command parses a Write v2 command frame.
func ParseWriteV2Command(frame []byte, f Framing) (WriteV2Command, error) {
	tn, p, mac, err := parseSecureV2(frame, f, CodeWriteV2, minWriteV2Payload, MaxSecureV2Payload)
	if err != nil {
		return WriteV2Command{}, err
	}
	return WriteV2Command{Transaction: tn, Payload: p, MAC: mac}, nil
}

// WriteV2Response answers Write v2: the card's transaction number, the
// encrypted status flags (exactly 2 bytes) and the MAC.
type WriteV2Response struct {
	Transaction uint16
	Payload     [statusPayload]byte // ciphertext of SF1 SF2
	MAC         [SecureMACSize]byte
}

// Append appends the response frame to dst.
func (r WriteV2Response) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureV2(dst, f, CodeWriteV2Response, r.Transaction, r.Payload[:], r.MAC, statusPayload, statusPayload)
}

// ParseWriteV2Response parses a Write v2 response frame; it takes no IDm.
func ParseWriteV2Response(frame []byte, f Framing) (WriteV2Response, error) {
	tn, p, mac, err := parseSecureV2(frame, f, CodeWriteV2Response, statusPayload, statusPayload)
	if err != nil {
		return WriteV2Response{}, err
	}
	return WriteV2Response{Transaction: tn, Payload: [statusPayload]byte(p), MAC: mac}, nil
}

// appendSecureDES encodes the ciphertext after the code.
func appendSecureDES(dst []byte, f Framing, code Code, enc []byte) ([]byte, error) {
	if len(enc) < 2*desBlock || len(enc)%desBlock != 0 {
		return dst, buildError(code, ErrMalformed, "%d bytes of ciphertext, want whole DES blocks, at least 2", len(enc))
	}
	e := newEncoder(dst, f, code, len(enc))
	e.bytes(enc)
	return e.finish()
}

// parseSecureDES decodes the ciphertext after the code; it aliases the frame.
func parseSecureDES(frame []byte, f Framing, code Code) ([]byte, error) {
	d := openPacket(frame, f, code)
	if d.err == nil && (d.remaining() < 2*desBlock || d.remaining()%desBlock != 0) {
		d.fail(d.off, ErrMalformed, "%d bytes of ciphertext, want whole DES blocks, at least 2", d.remaining())
	}
	enc := d.take(d.remaining(), "ciphertext")
	if err := d.done(); err != nil {
		return nil, err
	}
	return enc, nil
}

// ReadDESCommand is the legacy encrypted Read (14): everything after the code
// is ciphertext (TN, TID, the block list, padding and the MAC).
type ReadDESCommand struct {
	// Encrypted aliases the parsed frame.
	Encrypted []byte
}

// Append appends the command frame to dst.
func (c ReadDESCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureDES(dst, f, CodeReadDES, c.Encrypted)
}

// ParseReadDESCommand parses an encrypted Read (DES) command frame.
func ParseReadDESCommand(frame []byte, f Framing) (ReadDESCommand, error) {
	enc, err := parseSecureDES(frame, f, CodeReadDES)
	return ReadDESCommand{Encrypted: enc}, err
}

// ReadDESResponse answers the encrypted Read (DES); all ciphertext.
type ReadDESResponse struct {
	// Encrypted aliases the parsed frame.
	Encrypted []byte
}

// Append appends the response frame to dst.
func (r ReadDESResponse) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureDES(dst, f, CodeReadDESResponse, r.Encrypted)
}

// ParseReadDESResponse parses an encrypted Read (DES) response frame.
func ParseReadDESResponse(frame []byte, f Framing) (ReadDESResponse, error) {
	enc, err := parseSecureDES(frame, f, CodeReadDESResponse)
	return ReadDESResponse{Encrypted: enc}, err
}

// WriteDESCommand is the legacy encrypted Write (16); all ciphertext.
type WriteDESCommand struct {
	// Encrypted aliases the parsed frame.
	Encrypted []byte
}

// Append appends the command frame to dst.
func (c WriteDESCommand) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureDES(dst, f, CodeWriteDES, c.Encrypted)
}

// ParseWriteDESCommand parses an encrypted Write (DES) command frame.
func ParseWriteDESCommand(frame []byte, f Framing) (WriteDESCommand, error) {
	enc, err := parseSecureDES(frame, f, CodeWriteDES)
	return WriteDESCommand{Encrypted: enc}, err
}

// WriteDESResponse answers the encrypted Write (DES); all ciphertext.
type WriteDESResponse struct {
	// Encrypted aliases the parsed frame.
	Encrypted []byte
}

// Append appends the response frame to dst.
func (r WriteDESResponse) Append(dst []byte, f Framing) ([]byte, error) {
	return appendSecureDES(dst, f, CodeWriteDESResponse, r.Encrypted)
}

// ParseWriteDESResponse parses an encrypted Write (DES) response frame.
func ParseWriteDESResponse(frame []byte, f Framing) (WriteDESResponse, error) {
	enc, err := parseSecureDES(frame, f, CodeWriteDESResponse)
	return WriteDESResponse{Encrypted: enc}, err
}
