package felica

// SearchServiceCodeCommand asks for the node at Index in the card's list of
// areas and services (0 is the root area).
type SearchServiceCodeCommand struct {
	IDm   IDm
	Index uint16
}

// Append appends the command frame to dst.
func (c SearchServiceCodeCommand) Append(dst []byte, f Framing) ([]byte, error) {
	e := newEncoder(dst, f, CodeSearchServiceCode, 10)
	e.bytes(c.IDm[:])
	e.u16le(c.Index)
	return e.finish()
}

// ParseSearchServiceCodeCommand parses a Search Service Code command frame.
func ParseSearchServiceCodeCommand(frame []byte, f Framing) (SearchServiceCodeCommand, error) {
	d := openPacket(frame, f, CodeSearchServiceCode)
	c := SearchServiceCodeCommand{IDm: d.idm(), Index: d.u16le("index")}
	if err := d.done(); err != nil {
		return SearchServiceCodeCommand{}, err
	}
	return c, nil
}

// SearchServiceCodeResponse gives the node at the index asked: a service, an
// area with its end code, or SystemNode (FFFF) past the end of the list.
type SearchServiceCodeResponse struct {
	IDm  IDm
	Node NodeCode
	// End is the area's end code; zero unless Node is an area.
	End NodeCode
}

// Exhausted reports whether the index was past the end of the list.
func (r SearchServiceCodeResponse) Exhausted() bool { return r.Node == SystemNode }

// Area returns the area range; meaningful when Node.IsArea().
func (r SearchServiceCodeResponse) Area() Area { return Area{Code: r.Node, End: r.End} }

// Append appends the response frame to dst. An area node is followed by End;
// any other node carries no end code, so End must be zero.
func (r SearchServiceCodeResponse) Append(dst []byte, f Framing) ([]byte, error) {
	if !r.Node.IsArea() && r.End != 0 {
		return dst, buildError(CodeSearchServiceCodeResponse, ErrMalformed, "end code %s for non-area node %s", r.End, r.Node)
	}
	e := newEncoder(dst, f, CodeSearchServiceCodeResponse, 12)
	e.bytes(r.IDm[:])
	e.u16le(uint16(r.Node))
	if r.Node.IsArea() {
		e.u16le(uint16(r.End))
	}
	return e.finish()
}

// ParseSearchServiceCodeResponse parses a Search Service Code response to a
// command sent to idm. An area code must come with its end code, and only an
// area code.
func ParseSearchServiceCodeResponse(frame []byte, f Framing, idm IDm) (SearchServiceCodeResponse, error) {
	return parseSearchServiceCodeResponse(frame, f, &idm)
}

func parseSearchServiceCodeResponse(frame []byte, f Framing, idm *IDm) (SearchServiceCodeResponse, error) {
	d := openPacket(frame, f, CodeSearchServiceCodeResponse)
	r := SearchServiceCodeResponse{IDm: d.expectIDm(idm), Node: NodeCode(d.u16le("node code"))}
	if d.err == nil && r.Node.IsArea() {
		r.End = NodeCode(d.u16le("area end code"))
	}
	if err := d.done(); err != nil {
		return SearchServiceCodeResponse{}, err
	}
	return r, nil
}
