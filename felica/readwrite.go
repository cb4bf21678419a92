package felica

// Limits of Read and Write Without Encryption. Real products often allow
// fewer blocks (8, or 4 on FeliCa Lite); that limit belongs to the card.
const (
	// BlockSize is the size of every block.
	BlockSize = 16
	// MaxServicesPerAccess is the most services one Read or Write lists.
	MaxServicesPerAccess = 16
	// MaxReadBlocks is the most blocks whose Read response fits in 255 bytes.
	MaxReadBlocks = 15
	// MaxWriteBlocks is the most blocks a Write command of one service fits in 255 bytes.
	MaxWriteBlocks = 13
)

// checkAccess checks the service and block lists shared by Read and Write.
func checkAccess(code Code, services []NodeCode, blocks []BlockElement, maxBlocks int) error {
	if len(services) < 1 || len(services) > MaxServicesPerAccess {
		return buildError(code, ErrServiceCount, "%d services, want 1..%d", len(services), MaxServicesPerAccess)
	}
	if len(blocks) < 1 || len(blocks) > maxBlocks {
		return buildError(code, ErrBlockCount, "%d blocks, want 1..%d", len(blocks), maxBlocks)
	}
	for i, b := range blocks {
		if err := b.check(code, i, len(services)); err != nil {
			return err
		}
	}
	return nil
}

// accessSize is the encoded size of "IDm m services n blocks".
func accessSize(services []NodeCode, blocks []BlockElement) int {
	n := 8 + 1 + 2*len(services) + 1
	for _, b := range blocks {
		n += b.EncodedLen()
	}
	return n
}

func (e *encoder) access(idm IDm, services []NodeCode, blocks []BlockElement) {
	e.bytes(idm[:])
	e.u8(byte(len(services)))
	e.nodes(services)
	e.u8(byte(len(blocks)))
	for _, b := range blocks {
		e.buf = appendBlockElement(e.buf, b)
	}
}

func (d *decoder) access() (IDm, []NodeCode, []BlockElement) {
	idm := d.idm()
	services := d.nodes(int(d.u8("number of services")), "service codes")
	blocks := d.blockElements(int(d.u8("number of blocks")))
	return idm, services, blocks
}

// ReadCommand is Read Without Encryption: the blocks to read, each naming its
// service by index into Services.
type ReadCommand struct {
	IDm      IDm
	Services []NodeCode
	Blocks   []BlockElement
}

// Append appends the command frame to dst; 1..16 services, 1..15 blocks.
// It allocates only when dst lacks room.
func (c ReadCommand) Append(dst []byte, f Framing) ([]byte, error) {
	if err := checkAccess(CodeRead, c.Services, c.Blocks, MaxReadBlocks); err != nil {
		return dst, err
	}
	e := newEncoder(dst, f, CodeRead, accessSize(c.Services, c.Blocks))
	e.access(c.IDm, c.Services, c.Blocks)
	return e.finish()
}

// ParseReadCommand parses a Read Without Encryption command frame. It accepts
// any counts and service indexes the bytes carry: judging them is the card's
// job, which answers with status flags.
func ParseReadCommand(frame []byte, f Framing) (ReadCommand, error) {
	d := openPacket(frame, f, CodeRead)
	idm, services, blocks := d.access()
	if err := d.done(); err != nil {
		return ReadCommand{}, err
	}
	return ReadCommand{IDm: idm, Services: services, Blocks: blocks}, nil
}

// ReadResponse answers Read Without Encryption. When Status is OK, Data holds
// 16 bytes per block read; otherwise Data is empty (an error response has no
// block count).
type ReadResponse struct {
	IDm    IDm
	Status Status
	// Data aliases the parsed frame; copy it to keep it past the frame's life.
	Data []byte
}

// Count is the number of blocks in Data.
func (r ReadResponse) Count() int { return len(r.Data) / BlockSize }

// Block returns block i of Data, or nil when there is no such block.
func (r ReadResponse) Block(i int) []byte {
	if i < 0 || i >= r.Count() {
		return nil
	}
	return r.Data[i*BlockSize : (i+1)*BlockSize : (i+1)*BlockSize]
}

// Append appends the response frame to dst.
func (r ReadResponse) Append(dst []byte, f Framing) ([]byte, error) {
	if err := checkBlockData(CodeReadResponse, r.Status, r.Data); err != nil {
		return dst, err
	}
	e := newEncoder(dst, f, CodeReadResponse, 11+len(r.Data))
	e.bytes(r.IDm[:])
	e.u8(r.Status.SF1)
	e.u8(r.Status.SF2)
	if r.Status.OK() {
		e.u8(byte(len(r.Data) / BlockSize))
		e.bytes(r.Data)
	}
	return e.finish()
}

func checkBlockData(code Code, st Status, data []byte) error {
	switch {
	case !st.OK() && len(data) > 0:
		return buildError(code, ErrBlockCount, "an error response (SF1 %02X) carries no block data", st.SF1)
	case st.OK() && (len(data) == 0 || len(data)%BlockSize != 0):
		return buildError(code, ErrBlockCount, "%d bytes of block data, want a positive multiple of %d", len(data), BlockSize)
	}
	return nil
}

// ParseReadResponse parses a Read Without Encryption response to a command
// sent to idm. A well-formed error response parses without error: its
// Status says what the card refused (Status.Err turns it into an error).
func ParseReadResponse(frame []byte, f Framing, idm IDm) (ReadResponse, error) {
	return parseReadResponse(frame, f, &idm)
}

func parseReadResponse(frame []byte, f Framing, idm *IDm) (ReadResponse, error) {
	d := openPacket(frame, f, CodeReadResponse)
	r := ReadResponse{IDm: d.expectIDm(idm), Status: d.status()}
	if d.err == nil && r.Status.OK() {
		n := int(d.u8("number of blocks"))
		if d.err == nil && d.remaining() != n*BlockSize {
			d.fail(d.off, ErrCountMismatch, "%d blocks need %d bytes of data, have %d", n, n*BlockSize, d.remaining())
		}
		r.Data = d.take(n*BlockSize, "block data")
	}
	if err := d.done(); err != nil {
		return ReadResponse{}, err
	}
	return r, nil
}

// WriteCommand is Write Without Encryption: the blocks to write and 16 bytes
// of Data per block, in order.
type WriteCommand struct {
	IDm      IDm
	Services []NodeCode
	Blocks   []BlockElement
	// Data aliases the parsed frame.
	Data []byte
}

// Block returns the data for block element i, or nil when there is none.
func (c WriteCommand) Block(i int) []byte {
	if i < 0 || (i+1)*BlockSize > len(c.Data) {
		return nil
	}
	return c.Data[i*BlockSize : (i+1)*BlockSize : (i+1)*BlockSize]
}

// Append appends the command frame to dst; 1..16 services, 1..13 blocks,
// 16 bytes of data per block, and the whole within 255 bytes.
func (c WriteCommand) Append(dst []byte, f Framing) ([]byte, error) {
	if err := checkAccess(CodeWrite, c.Services, c.Blocks, MaxWriteBlocks); err != nil {
		return dst, err
	}
	if len(c.Data) != len(c.Blocks)*BlockSize {
		return dst, buildError(CodeWrite, ErrCountMismatch, "%d bytes of data for %d blocks", len(c.Data), len(c.Blocks))
	}
	e := newEncoder(dst, f, CodeWrite, accessSize(c.Services, c.Blocks)+len(c.Data))
	e.access(c.IDm, c.Services, c.Blocks)
	e.bytes(c.Data)
	return e.finish()
}

// ParseWriteCommand parses a Write Without Encryption command frame; the data
// must be 16 bytes per block element. Like ParseReadCommand it leaves counts
// and service indexes to the card.
func ParseWriteCommand(frame []byte, f Framing) (WriteCommand, error) {
	d := openPacket(frame, f, CodeWrite)
	idm, services, blocks := d.access()
	if d.err == nil && d.remaining() != len(blocks)*BlockSize {
		d.fail(d.off, ErrCountMismatch, "%d blocks need %d bytes of data, have %d", len(blocks), len(blocks)*BlockSize, d.remaining())
	}
	data := d.take(len(blocks)*BlockSize, "block data")
	if err := d.done(); err != nil {
		return WriteCommand{}, err
	}
	return WriteCommand{IDm: idm, Services: services, Blocks: blocks, Data: data}, nil
}

// WriteResponse answers Write Without Encryption with status flags.
type WriteResponse struct {
	IDm    IDm
	Status Status
}

// Append appends the response frame to dst.
func (r WriteResponse) Append(dst []byte, f Framing) ([]byte, error) {
	return appendStatusResponse(dst, f, CodeWriteResponse, r.IDm, r.Status)
}

// ParseWriteResponse parses a Write Without Encryption response to a command
// sent to idm. Non-success flags are in Status, not in the error.
func ParseWriteResponse(frame []byte, f Framing, idm IDm) (WriteResponse, error) {
	id, st, err := parseStatusResponse(frame, f, CodeWriteResponse, &idm)
	return WriteResponse{IDm: id, Status: st}, err
}

// appendStatusResponse encodes the "IDm SF1 SF2" responses (Write, Reset Mode).
func appendStatusResponse(dst []byte, f Framing, code Code, idm IDm, st Status) ([]byte, error) {
	e := newEncoder(dst, f, code, 10)
	e.bytes(idm[:])
	e.u8(st.SF1)
	e.u8(st.SF2)
	return e.finish()
}

func parseStatusResponse(frame []byte, f Framing, code Code, idm *IDm) (IDm, Status, error) {
	d := openPacket(frame, f, code)
	id, st := d.expectIDm(idm), d.status()
	if err := d.done(); err != nil {
		return IDm{}, Status{}, err
	}
	return id, st, nil
}
