package card

import (
	"fmt"

	"github.com/tes-project/tes/felica"
)

// Kind is how a service keeps its blocks.
type Kind string

// The service kinds this card supports.
const (
	// KindRandom services keep blocks that are read and written in place.
	KindRandom Kind = "random"
	// KindCyclic services keep records, block 0 the newest; a write pushes records.
	KindCyclic Kind = "cyclic"
)

// maxServiceBlocks bounds one service (a block element names at most block 0xFFFF)
// and the whole layout, so that a card never holds more than 1 MiB.
const maxServiceBlocks = 0x10000

// Layout is the file system an issuer's cards share: one system, its areas and its
// services. It is a plain value; New copies what it needs.
type Layout struct {
	SystemCode felica.SystemCode
	PMm        felica.PMm
	Areas      []Area
	Services   []Service
	// MaxBalance is the issuer's maximum balance in yen, carried for the flows' tests;
	// the card itself does not enforce it.
	MaxBalance int
	// SystemKeys holds the system key of DES authentication (Ksys); AES has none.
	SystemKeys NodeKeys
}

// Area is a range of node codes [Code, End] with a key version.
type Area struct {
	Code       felica.NodeCode
	End        felica.NodeCode
	KeyVersion uint16
	// Keys are the area's keys for Authentication1 (DES) and 1 v2 (AES), if any.
	Keys NodeKeys
}

// Service is one data area reached by up to two codes that share its blocks: a
// read-write code and a read-only code. A zero code means the service has no such
// code (0x0000 is the root area, never a service).
type Service struct {
	Name       string
	Number     uint16
	Kind       Kind
	ReadWrite  felica.NodeCode
	ReadOnly   felica.NodeCode
	Blocks     int
	KeyVersion uint16
	// ReadWriteKeys and ReadOnlyKeys are the keys of the two codes; only keyed
	// codes have them.
	ReadWriteKeys, ReadOnlyKeys NodeKeys
}

// Codes returns the service's codes, read-write first, without the absent ones.
func (s Service) Codes() []felica.NodeCode {
	codes := make([]felica.NodeCode, 0, 2)
	for _, c := range []felica.NodeCode{s.ReadWrite, s.ReadOnly} {
		if c != 0 {
			codes = append(codes, c)
		}
	}
	return codes
}

// Validate checks the layout's rules: a root area 0000, areas that are areas, services
// with unique names and numbers, codes whose number and attribute fit the service, and
// block counts of 1 or more, 65536 at most in all.
func (l Layout) Validate() error {
	if err := l.validateAreas(); err != nil {
		return err
	}
	names := make(map[string]bool, len(l.Services))
	numbers := make(map[uint16]bool, len(l.Services))
	total := 0
	for _, s := range l.Services {
		if err := s.validate(); err != nil {
			return err
		}
		if total += s.Blocks; total > maxServiceBlocks {
			return fmt.Errorf("%w: services hold more than %d blocks in all", ErrInvalidCatalog, maxServiceBlocks)
		}
		if names[s.Name] {
			return fmt.Errorf("%w: service name %q used twice", ErrInvalidCatalog, s.Name)
		}
		if numbers[s.Number] {
			return fmt.Errorf("%w: service number %d used twice", ErrInvalidCatalog, s.Number)
		}
		names[s.Name], numbers[s.Number] = true, true
	}
	return nil
}

func (l Layout) validateAreas() error {
	root := false
	seen := make(map[felica.NodeCode]bool, len(l.Areas))
	for _, a := range l.Areas {
		if !a.Code.IsArea() {
			return fmt.Errorf("%w: area %s has no area attribute", ErrInvalidCatalog, a.Code)
		}
		if a.End < a.Code {
			return fmt.Errorf("%w: area %s ends at %s, before it starts", ErrInvalidCatalog, a.Code, a.End)
		}
		if seen[a.Code] {
			return fmt.Errorf("%w: area %s listed twice", ErrInvalidCatalog, a.Code)
		}
		seen[a.Code] = true
		root = root || a.Code == 0
	}
	if !root {
		return fmt.Errorf("%w: no root area 0000", ErrInvalidCatalog)
	}
	return nil
}

func (s Service) validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: service %d has no name", ErrInvalidCatalog, s.Number)
	}
	if s.Number > felica.MaxNodeNumber {
		return fmt.Errorf("%w: service %q: number %d is over 10 bits", ErrInvalidCatalog, s.Name, s.Number)
	}
	if s.Kind != KindRandom && s.Kind != KindCyclic {
		return fmt.Errorf("%w: service %q: kind %q is not random or cyclic", ErrInvalidCatalog, s.Name, s.Kind)
	}
	if s.Blocks < 1 || s.Blocks > maxServiceBlocks {
		return fmt.Errorf("%w: service %q: %d blocks, want 1..%d", ErrInvalidCatalog, s.Name, s.Blocks, maxServiceBlocks)
	}
	if s.ReadWrite == 0 && s.ReadOnly == 0 {
		return fmt.Errorf("%w: service %q has no code", ErrInvalidCatalog, s.Name)
	}
	for _, c := range []struct {
		code     felica.NodeCode
		readOnly bool
		keys     NodeKeys
	}{{s.ReadWrite, false, s.ReadWriteKeys}, {s.ReadOnly, true, s.ReadOnlyKeys}} {
		if err := validateKeys(c.code, c.keys, s.Name); err != nil {
			return err
		}
		if c.code == 0 {
			continue
		}
		if c.code.Number() != s.Number {
			return fmt.Errorf("%w: service %q: code %s has number %d, want %d", ErrInvalidCatalog, s.Name, c.code, c.code.Number(), s.Number)
		}
		if c.code.Kind() != s.Kind.codecKind() || c.code.ReadOnly() != c.readOnly {
			return fmt.Errorf("%w: service %q: code %s does not have the attribute of a %s %s service", ErrInvalidCatalog, s.Name, c.code, s.Kind, accessWord(c.readOnly))
		}
	}
	return nil
}

// codecKind is the codec's name for the kind, to compare with a code's attribute.
func (k Kind) codecKind() felica.ServiceKind {
	switch k {
	case KindRandom:
		return felica.KindRandom
	case KindCyclic:
		return felica.KindCyclic
	}
	return felica.KindNone
}

func accessWord(readOnly bool) string {
	if readOnly {
		return "read-only"
	}
	return "read-write"
}
