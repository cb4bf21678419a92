package felica

import "fmt"

// NodeCode is the code of a system, area or service: a 10-bit number and a
// 6-bit attribute (number<<6 | attribute). It travels little-endian.
// Codes with the same number share the same blocks (0x0089 RW and 0x008B RO).
type NodeCode uint16

// SystemNode is the node code of the system itself.
const SystemNode NodeCode = 0xFFFF

// MaxNodeNumber is the largest 10-bit node number.
const MaxNodeNumber = 0x3FF

// Attributes of areas and services, as in FELICA.md. Service attributes with
// the low bit set need no key.
const (
	AttrAreaCanCreateSubArea uint8 = 0x00
	AttrAreaNoSubArea        uint8 = 0x01
	AttrRandomRW             uint8 = 0x08
	AttrRandomRO             uint8 = 0x0A
	AttrCyclicRW             uint8 = 0x0C
	AttrCyclicRO             uint8 = 0x0E
	AttrPurseDirect          uint8 = 0x10
	AttrPurseCashback        uint8 = 0x12
	AttrPurseDecrement       uint8 = 0x14
	AttrPurseRO              uint8 = 0x16
	AttrNoKey                uint8 = 0x01 // or-ed into a service attribute
)

// NewNodeCode makes a node code from its number (0..1023) and attribute (0..63).
func NewNodeCode(number uint16, attribute uint8) (NodeCode, error) {
	if number > MaxNodeNumber || attribute > 0x3F {
		return 0, &FrameError{Op: "make node code", Offset: -1, Err: ErrBadParameter,
			Detail: fmt.Sprintf("number %d (max %d), attribute 0x%02X (max 0x3F)", number, MaxNodeNumber, attribute)}
	}
	return NodeCode(number<<6 | uint16(attribute)), nil
}

// ParseNodeCode reads a node code written as 4 hex digits, most significant first ("0009").
func ParseNodeCode(s string) (NodeCode, error) {
	v, err := parseHex16(s, "node code")
	return NodeCode(v), err
}

// Number is the 10-bit node number; services with the same number share blocks.
func (c NodeCode) Number() uint16 { return uint16(c) >> 6 }

// Attribute is the low 6 bits.
func (c NodeCode) Attribute() uint8 { return uint8(c) & 0x3F }

// IsSystem reports whether c is the system node FFFF.
func (c NodeCode) IsSystem() bool { return c == SystemNode }

// IsArea reports whether c is an area code (attribute 000000 or 000001).
func (c NodeCode) IsArea() bool { return !c.IsSystem() && c.Attribute() <= AttrAreaNoSubArea }

// IsService reports whether c is a service code (an attribute FELICA.md lists).
func (c NodeCode) IsService() bool { return c.Kind() != KindNone }

// Kind is the service kind, KindNone for areas, the system and unknown attributes.
func (c NodeCode) Kind() ServiceKind {
	if c.IsSystem() {
		return KindNone
	}
	switch c.Attribute() &^ AttrNoKey {
	case AttrRandomRW, AttrRandomRO:
		return KindRandom
	case AttrCyclicRW, AttrCyclicRO:
		return KindCyclic
	case AttrPurseDirect:
		return KindPurseDirect
	case AttrPurseCashback:
		return KindPurseCashback
	case AttrPurseDecrement:
		return KindPurseDecrement
	case AttrPurseRO:
		return KindPurseReadOnly
	}
	return KindNone
}

// ReadOnly reports whether c is a service that cannot be written without
// encryption: random and cyclic read-only, and read-only purse.
func (c NodeCode) ReadOnly() bool {
	if !c.IsService() {
		return false
	}
	switch c.Attribute() &^ AttrNoKey {
	case AttrRandomRO, AttrCyclicRO, AttrPurseRO:
		return true
	}
	return false
}

// Keyed reports whether c is a service that needs authentication (low bit 0).
// Areas and the system report false: their attribute says nothing about keys.
func (c NodeCode) Keyed() bool { return c.IsService() && c.Attribute()&AttrNoKey == 0 }

// String renders the code as 4 upper-case hex digits, most significant first.
func (c NodeCode) String() string { return fmt.Sprintf("%04X", uint16(c)) }

// Label renders the code with what it is, e.g. "0009 random RW no-key" or "1000 area".
func (c NodeCode) Label() string {
	switch {
	case c.IsSystem():
		return c.String() + " system"
	case c.IsArea():
		return c.String() + " area"
	case !c.IsService():
		return fmt.Sprintf("%s attribute 0x%02X", c, c.Attribute())
	}
	access, key := "RW", "key"
	if c.ReadOnly() {
		access = "RO"
	}
	if !c.Keyed() {
		key = "no-key"
	}
	return fmt.Sprintf("%s %s %s %s", c, c.Kind(), access, key)
}

// ServiceKind is what a service's blocks hold and how they are written.
type ServiceKind uint8

// Service kinds.
const (
	KindNone           ServiceKind = iota // not a service
	KindRandom                            // random access blocks
	KindCyclic                            // ring of records, block 0 newest
	KindPurseDirect                       // purse written directly
	KindPurseCashback                     // purse, cashback or decrement
	KindPurseDecrement                    // purse, decrement only
	KindPurseReadOnly                     // purse, read only
)

// IsPurse reports whether k is one of the purse kinds.
func (k ServiceKind) IsPurse() bool { return k >= KindPurseDirect && k <= KindPurseReadOnly }

func (k ServiceKind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindRandom:
		return "random"
	case KindCyclic:
		return "cyclic"
	case KindPurseDirect:
		return "purse-direct"
	case KindPurseCashback:
		return "purse-cashback"
	case KindPurseDecrement:
		return "purse-decrement"
	case KindPurseReadOnly:
		return "purse-readonly"
	}
	return fmt.Sprintf("ServiceKind(%d)", uint8(k))
}

// Area is a range of node codes [Code, End] that an area owns, e.g. 1000..13FF.
type Area struct {
	Code NodeCode
	End  NodeCode
}

// Contains reports whether node lies in the area.
func (a Area) Contains(node NodeCode) bool { return node >= a.Code && node <= a.End }

func (a Area) String() string { return a.Code.String() + ".." + a.End.String() }
