package card

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tes-project/tes/felica"
)

// demoJSON is a byte-for-byte copy of shared/cards/demo.json; the tests check that
// the two stay equal.
//
//go:embed demo.json
var demoJSON []byte

// Catalog is a layout and the images of cards built on it, as loaded from a JSON file
// in the format of cards/demo.json. It is a plain value: nothing in it is shared with a
// Card made from it.
type Catalog struct {
	Layout Layout
	Cards  []Image
	// Product, when set, says where a card keeps its product code: the
	// ledger's productCode repeats that byte (tes sim --seed and tes test
	// provision cards with it). Nil when the file does not declare it.
	Product *ByteRef
}

// ByteRef names one byte of a card image: byte Byte (0-based) of block Block
// of the service named Service.
type ByteRef struct {
	Service string
	Block   int
	Byte    int
}

// ProductCode reads the product code that c.Product declares from img;
// false when the catalogue declares none.
func (c *Catalog) ProductCode(img Image) (int, bool) {
	if c.Product == nil {
		return 0, false
	}
	blocks := img.Blocks[c.Product.Service]
	if c.Product.Block >= len(blocks) {
		return 0, true // an unlisted block is zero
	}
	return int(blocks[c.Product.Block][c.Product.Byte]), true
}

// Image is the content of one card: its IDm and its blocks by service name. A service
// missing from Blocks, or a list shorter than the service, reads as zero blocks; a
// cyclic service's list starts with the newest record.
type Image struct {
	Label  string
	IDm    felica.IDm
	Blocks map[string][][felica.BlockSize]byte
}

// Demo returns the DEMO issuer's catalogue embedded in the program. Each call returns
// a fresh copy that the caller may change.
func Demo() (*Catalog, error) {
	c, err := Load(bytes.NewReader(demoJSON))
	if err != nil {
		return nil, fmt.Errorf("card: embedded demo catalogue: %w", err)
	}
	return c, nil
}

// LoadFile reads a catalogue from a JSON file.
func LoadFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("card: open catalogue: %w", err)
	}
	defer f.Close()
	c, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Load reads a catalogue in the JSON format of cards/demo.json and validates it.
// Unknown keys and trailing data are errors, so that a typo is not silently ignored.
func Load(r io.Reader) (*Catalog, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCatalog, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the catalogue", ErrInvalidCatalog)
	}
	return f.catalog()
}

// Image returns the card image whose IDm (16 hex digits, any case) or label is key.
// The image shares its blocks with the catalogue.
func (c *Catalog) Image(key string) (Image, bool) {
	idm, idmErr := felica.ParseIDm(key)
	for _, img := range c.Cards {
		if img.Label == key || (idmErr == nil && img.IDm == idm) {
			return img, true
		}
	}
	return Image{}, false
}

// Validate checks the layout and every image against it: unique IDm, blocks only for
// the layout's services and no more than each holds.
func (c *Catalog) Validate() error {
	if err := c.Layout.Validate(); err != nil {
		return err
	}
	if p := c.Product; p != nil {
		s, ok := c.Layout.serviceNamed(p.Service)
		switch {
		case !ok:
			return fmt.Errorf("%w: productCode: no service %q in the layout", ErrInvalidCatalog, p.Service)
		case p.Block < 0 || p.Block >= s.Blocks:
			return fmt.Errorf("%w: productCode: service %q has no block %d", ErrInvalidCatalog, p.Service, p.Block)
		case p.Byte < 0 || p.Byte >= felica.BlockSize:
			return fmt.Errorf("%w: productCode: byte %d is outside a block", ErrInvalidCatalog, p.Byte)
		}
	}
	seen := make(map[felica.IDm]bool, len(c.Cards))
	for _, img := range c.Cards {
		if seen[img.IDm] {
			return fmt.Errorf("%w: card %X listed twice", ErrInvalidCatalog, img.IDm[:])
		}
		seen[img.IDm] = true
		if err := c.Layout.validateImage(img); err != nil {
			return err
		}
	}
	return nil
}

func (l Layout) validateImage(img Image) error {
	for name, blocks := range img.Blocks {
		s, ok := l.serviceNamed(name)
		if !ok {
			return fmt.Errorf("%w: card %X: no service %q in the layout", ErrInvalidCatalog, img.IDm[:], name)
		}
		if len(blocks) > s.Blocks {
			return fmt.Errorf("%w: card %X: service %q holds %d blocks, image has %d", ErrInvalidCatalog, img.IDm[:], name, s.Blocks, len(blocks))
		}
	}
	return nil
}

func (l Layout) serviceNamed(name string) (Service, bool) {
	for _, s := range l.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// The JSON shapes of the catalogue file: hex strings throughout, codes written most
// significant digit first.
type catalogFile struct {
	About      string        `json:"about"`
	SystemCode string        `json:"systemCode"`
	PMm        string        `json:"pmm"`
	Areas      []areaFile    `json:"areas"`
	Services   []serviceFile `json:"services"`
	MaxBalance int           `json:"maxBalance"`
	// ProductCode is optional: where a card keeps its product code.
	ProductCode *byteRefFile `json:"productCode,omitempty"`
	Cards       []cardFile   `json:"cards"`
}

type byteRefFile struct {
	Service string `json:"service"`
	Block   int    `json:"block"`
	Byte    int    `json:"byte"`
}

type areaFile struct {
	AreaCode   string `json:"areaCode"`
	EndCode    string `json:"endCode"`
	KeyVersion string `json:"keyVersion"`
}

type serviceFile struct {
	Name       string            `json:"name"`
	Number     uint16            `json:"number"`
	Kind       string            `json:"kind"`
	Codes      map[string]string `json:"codes"`
	Blocks     int               `json:"blocks"`
	KeyVersion string            `json:"keyVersion"`
}

type cardFile struct {
	Label  string              `json:"label"`
	IDm    string              `json:"idm"`
	Blocks map[string][]string `json:"blocks"`
}

func (f catalogFile) catalog() (*Catalog, error) {
	var c Catalog
	var err error
	if c.Layout.SystemCode, err = felica.ParseSystemCode(f.SystemCode); err != nil {
		return nil, fmt.Errorf("%w: systemCode: %w", ErrInvalidCatalog, err)
	}
	if err := parseHexBytes("pmm", f.PMm, c.Layout.PMm[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCatalog, err)
	}
	c.Layout.MaxBalance = f.MaxBalance
	if p := f.ProductCode; p != nil {
		c.Product = &ByteRef{Service: p.Service, Block: p.Block, Byte: p.Byte}
	}
	for i, a := range f.Areas {
		if c.Layout.Areas, err = a.appendTo(c.Layout.Areas); err != nil {
			return nil, fmt.Errorf("%w: areas[%d]: %w", ErrInvalidCatalog, i, err)
		}
	}
	for i, s := range f.Services {
		if c.Layout.Services, err = s.appendTo(c.Layout.Services); err != nil {
			return nil, fmt.Errorf("%w: services[%d]: %w", ErrInvalidCatalog, i, err)
		}
	}
	for i, card := range f.Cards {
		if c.Cards, err = card.appendTo(c.Cards); err != nil {
			return nil, fmt.Errorf("%w: cards[%d]: %w", ErrInvalidCatalog, i, err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (a areaFile) appendTo(areas []Area) ([]Area, error) {
	code, err := felica.ParseNodeCode(a.AreaCode)
	if err != nil {
		return nil, fieldError("areaCode", err)
	}
	end, err := felica.ParseNodeCode(a.EndCode)
	if err != nil {
		return nil, fieldError("endCode", err)
	}
	kv, err := parseKeyVersion(a.KeyVersion)
	if err != nil {
		return nil, err
	}
	return append(areas, Area{Code: code, End: end, KeyVersion: kv}), nil
}

func (s serviceFile) appendTo(services []Service) ([]Service, error) {
	kv, err := parseKeyVersion(s.KeyVersion)
	if err != nil {
		return nil, err
	}
	svc := Service{Name: s.Name, Number: s.Number, Kind: Kind(s.Kind), Blocks: s.Blocks, KeyVersion: kv}
	for key, text := range s.Codes {
		code, err := felica.ParseNodeCode(text)
		if err != nil {
			return nil, fieldError("codes."+key, err)
		}
		switch key {
		case "rw":
			svc.ReadWrite = code
		case "ro":
			svc.ReadOnly = code
		default:
			return nil, fmt.Errorf("codes: unknown key %q, want rw or ro", key)
		}
	}
	return append(services, svc), nil
}

func (c cardFile) appendTo(cards []Image) ([]Image, error) {
	idm, err := felica.ParseIDm(c.IDm)
	if err != nil {
		return nil, fieldError("idm", err)
	}
	img := Image{Label: c.Label, IDm: idm, Blocks: make(map[string][][felica.BlockSize]byte, len(c.Blocks))}
	for name, texts := range c.Blocks {
		blocks := make([][felica.BlockSize]byte, len(texts))
		for i, text := range texts {
			if err := parseHexBytes(fmt.Sprintf("blocks.%s[%d]", name, i), text, blocks[i][:]); err != nil {
				return nil, err
			}
		}
		img.Blocks[name] = blocks
	}
	return append(cards, img), nil
}

// parseKeyVersion reads a key version written like a node code, 4 hex digits.
func parseKeyVersion(text string) (uint16, error) {
	v, err := felica.ParseNodeCode(text)
	if err != nil {
		return 0, fieldError("keyVersion", err)
	}
	return uint16(v), nil
}

func parseHexBytes(field, text string, dst []byte) error {
	if len(text) != 2*len(dst) {
		return fmt.Errorf("%s %q: want %d hex digits", field, text, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(text)); err != nil {
		return fieldError(field, err)
	}
	return nil
}

// fieldError names the field a parse error is about; the caller adds the position
// and ErrInvalidCatalog.
func fieldError(field string, err error) error {
	return fmt.Errorf("%s: %w", field, err)
}
