package felica

import "fmt"

// AccessMode is the 3-bit access mode of a block list element.
type AccessMode uint8

// Access modes FELICA.md names; the other values up to 7 encode but mean nothing
// to most cards (a card answers A7).
const (
	AccessNormal    AccessMode = 0 // read or write the block
	AccessCashback  AccessMode = 1 // purse cashback
	AccessKeyChange AccessMode = 4 // key change
	maxAccessMode   AccessMode = 7
)

// BlockElement names one block in a Read or Write command.
//
// It travels in 2 bytes (1AAASSSS NNNNNNNN) when the block number is at most
// 255, else in 3 (0AAASSSS then the block number, little-endian). Builders
// always choose the short form when it fits; parsers accept both.
type BlockElement struct {
	// Service is the index into the command's service list (0..15).
	Service uint8
	// Access is the access mode.
	Access AccessMode
	// Block is the block number within the service.
	Block uint16
}

// EncodedLen is 2 or 3: the number of bytes the element takes.
func (e BlockElement) EncodedLen() int {
	if e.Block <= 0xFF {
		return 2
	}
	return 3
}

// check reports why e cannot be encoded in a list of services services.
func (e BlockElement) check(code Code, i, services int) error {
	if e.Access > maxAccessMode {
		return buildError(code, ErrAccessMode, "block element %d: access mode %d (max 7)", i, e.Access)
	}
	if int(e.Service) >= services {
		return buildError(code, ErrServiceIndex, "block element %d: service index %d, %d services", i, e.Service, services)
	}
	return nil
}

func appendBlockElement(dst []byte, e BlockElement) []byte {
	head := byte(e.Access&maxAccessMode)<<4 | e.Service&0x0F
	if e.Block <= 0xFF {
		return append(dst, 0x80|head, byte(e.Block))
	}
	return append(dst, head, byte(e.Block), byte(e.Block>>8))
}

func (d *decoder) blockElements(n int) []BlockElement {
	if d.err != nil {
		return nil
	}
	if d.remaining() < 2*n {
		d.fail(d.off, ErrTruncated, "%d block elements need at least %d bytes, %d left", n, 2*n, d.remaining())
		return nil
	}
	out := make([]BlockElement, n)
	for i := range out {
		head := d.u8("block element")
		e := BlockElement{Service: head & 0x0F, Access: AccessMode(head>>4) & maxAccessMode}
		if head&0x80 != 0 {
			e.Block = uint16(d.u8("block number"))
		} else {
			e.Block = d.u16le("3-byte block number")
		}
		out[i] = e
	}
	if d.err != nil {
		return nil
	}
	return out
}

func (e BlockElement) String() string {
	s := fmt.Sprintf("%d:%d", e.Service, e.Block)
	if e.Access != AccessNormal {
		s += fmt.Sprintf("/a%d", e.Access)
	}
	return s
}
