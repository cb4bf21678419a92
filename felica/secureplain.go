package felica

// The plaintext payloads of the secure Read and Write commands, AES (v2) and
// DES alike: what the SAM seals and the card opens, and back. Block elements
// index the Authentication1 v2 node list (DES: the Authentication1 service
// list). A DES plaintext arrives padded to 8 bytes (the padding cannot be told
// from data), so the parsers take padded = true to allow up to 7 trailing bytes.
//
//	Read request   n blk[n]
//	Read reply     SF1 SF2 [n data[16n]]   (no count on error)
//	Write request  n blk[n] data[16n]
//	Write reply    SF1 SF2

// MaxSecureNodes is the most nodes a block element of a secure command can
// index: its service index has 4 bits.
const MaxSecureNodes = 16

// Limits of one secure Read or Write, by packet size with 2-byte elements.
const (
	MaxSecureReadBlocks  = 15
	MaxSecureWriteBlocks = 13
)

// Codes used in the errors of the plaintext parsers and builders.
const (
	plainRead  = CodeReadV2
	plainWrite = CodeWriteV2
)

// openPlain starts decoding a plaintext payload; offsets count from its first byte.
func openPlain(p []byte, code Code) decoder {
	return decoder{p: p, code: code}
}

// plainDone is done for a plaintext, allowing up to 7 bytes of DES padding.
func (d *decoder) plainDone(padded bool) error {
	if padded && d.err == nil && d.remaining() < desBlock {
		d.off = len(d.p)
	}
	if d.err != nil {
		var fe *FrameError
		fe, _ = d.err.(*FrameError)
		if fe != nil {
			fe.Op += " plaintext"
		}
	}
	return d.done()
}

func checkSecureBlocks(code Code, blocks []BlockElement, max int) error {
	if len(blocks) < 1 || len(blocks) > max {
		return buildError(code, ErrBlockCount, "%d blocks, want 1..%d", len(blocks), max)
	}
	for i, b := range blocks {
		if err := b.check(code, i, MaxSecureNodes); err != nil {
			return err
		}
	}
	return nil
}

// SecureReadRequest is the plaintext of Read v2 (and the DES Read): the blocks
// to read.
type SecureReadRequest struct {
	Blocks []BlockElement
}

// AppendPlain appends the plaintext to dst; 1..15 blocks, service indexes 0..15.
func (r SecureReadRequest) AppendPlain(dst []byte) ([]byte, error) {
	if err := checkSecureBlocks(plainRead, r.Blocks, MaxSecureReadBlocks); err != nil {
		return dst, err
	}
	dst = append(dst, byte(len(r.Blocks)))
	for _, b := range r.Blocks {
		dst = appendBlockElement(dst, b)
	}
	return dst, nil
}

// ParseSecureReadRequest parses the plaintext of a secure Read. Like
// ParseReadCommand it leaves counts and indexes to the card.
func ParseSecureReadRequest(p []byte, padded bool) (SecureReadRequest, error) {
	d := openPlain(p, plainRead)
	r := SecureReadRequest{Blocks: d.blockElements(int(d.u8("number of blocks")))}
	if err := d.plainDone(padded); err != nil {
		return SecureReadRequest{}, err
	}
	return r, nil
}

// SecureReadReply is the plaintext of a Read v2 (or DES Read) answer: status
// flags and, on success, 16 bytes of Data per block.
type SecureReadReply struct {
	Status Status
	// Data aliases the parsed plaintext.
	Data []byte
}

// Count is the number of blocks in Data.
func (r SecureReadReply) Count() int { return len(r.Data) / BlockSize }

// Block returns block i of Data, or nil when there is no such block.
func (r SecureReadReply) Block(i int) []byte {
	return ReadResponse{Data: r.Data}.Block(i)
}

// AppendPlain appends the plaintext to dst.
func (r SecureReadReply) AppendPlain(dst []byte) ([]byte, error) {
	if err := checkBlockData(CodeReadV2Response, r.Status, r.Data); err != nil {
		return dst, err
	}
	if len(r.Data) > MaxSecureReadBlocks*BlockSize {
		return dst, buildError(CodeReadV2Response, ErrBlockCount, "%d blocks, at most %d", len(r.Data)/BlockSize, MaxSecureReadBlocks)
	}
	dst = append(dst, r.Status.SF1, r.Status.SF2)
	if r.Status.OK() {
		dst = append(dst, byte(len(r.Data)/BlockSize))
		dst = append(dst, r.Data...)
	}
	return dst, nil
}

// ParseSecureReadReply parses the plaintext of a secure Read answer.
func ParseSecureReadReply(p []byte, padded bool) (SecureReadReply, error) {
	d := openPlain(p, CodeReadV2Response)
	r := SecureReadReply{Status: d.status()}
	if d.err == nil && r.Status.OK() {
		n := int(d.u8("number of blocks"))
		if d.err == nil && (d.remaining() < n*BlockSize || (!padded && d.remaining() != n*BlockSize)) {
			d.fail(d.off, ErrCountMismatch, "%d blocks need %d bytes of data, have %d", n, n*BlockSize, d.remaining())
		}
		r.Data = d.take(n*BlockSize, "block data")
	}
	if err := d.plainDone(padded); err != nil {
		return SecureReadReply{}, err
	}
	return r, nil
}

// SecureWriteRequest is the plaintext of Write v2 (and the DES Write): the
// blocks to write and 16 bytes of Data per block, in order.
type SecureWriteRequest struct {
	Blocks []BlockElement
	// Data aliases the parsed plaintext.
	Data []byte
}

// Block returns the data for block element i, or nil when there is none.
func (r SecureWriteRequest) Block(i int) []byte {
	return WriteCommand{Data: r.Data}.Block(i)
}

// AppendPlain appends the plaintext to dst; 1..13 blocks and their data.
func (r SecureWriteRequest) AppendPlain(dst []byte) ([]byte, error) {
	if err := checkSecureBlocks(plainWrite, r.Blocks, MaxSecureWriteBlocks); err != nil {
		return dst, err
	}
	if len(r.Data) != len(r.Blocks)*BlockSize {
		return dst, buildError(plainWrite, ErrCountMismatch, "%d bytes of data for %d blocks", len(r.Data), len(r.Blocks))
	}
	dst = append(dst, byte(len(r.Blocks)))
	for _, b := range r.Blocks {
		dst = appendBlockElement(dst, b)
	}
	return append(dst, r.Data...), nil
}

// ParseSecureWriteRequest parses the plaintext of a secure Write; the data
// must be 16 bytes per block element.
func ParseSecureWriteRequest(p []byte, padded bool) (SecureWriteRequest, error) {
	d := openPlain(p, plainWrite)
	blocks := d.blockElements(int(d.u8("number of blocks")))
	if d.err == nil && (d.remaining() < len(blocks)*BlockSize || (!padded && d.remaining() != len(blocks)*BlockSize)) {
		d.fail(d.off, ErrCountMismatch, "%d blocks need %d bytes of data, have %d", len(blocks), len(blocks)*BlockSize, d.remaining())
	}
	data := d.take(len(blocks)*BlockSize, "block data")
	if err := d.plainDone(padded); err != nil {
		return SecureWriteRequest{}, err
	}
	return SecureWriteRequest{Blocks: blocks, Data: data}, nil
}

// SecureWriteReply is the plaintext of a secure Write answer: status flags.
type SecureWriteReply struct {
	Status Status
}

// AppendPlain appends the plaintext to dst.
func (r SecureWriteReply) AppendPlain(dst []byte) ([]byte, error) {
	return append(dst, r.Status.SF1, r.Status.SF2), nil
}

// ParseSecureWriteReply parses the plaintext of a secure Write answer.
func ParseSecureWriteReply(p []byte, padded bool) (SecureWriteReply, error) {
	d := openPlain(p, CodeWriteV2Response)
	r := SecureWriteReply{Status: d.status()}
	if err := d.plainDone(padded); err != nil {
		return SecureWriteReply{}, err
	}
	return r, nil
}
