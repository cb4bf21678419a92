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
	"github.com/tes-project/tes/felica/secure"
)

// demoJSON is a byte-for-byte copy of shared/cards/demo.json; the tests check that
// the two stay equal.
//
//go:embed demo.json
var demoJSON []byte

// demoAESJSON is a byte-for-byte copy of shared/cards/demo-aes.json: the DEMOAES
// layout, its sample cards with their keys, and the issuer's key store of published
// TEST keys under "keys" (which the card ignores: it is the SAM's).
//
//go:embed demo-aes.json
var demoAESJSON []byte

// Catalog is a layout and the images of cards built on it, as loaded from a JSON file
// in the format of cards/demo.json. It is a plain value: nothing in it is shared with a
// Card made from it.
type Catalog struct {
	Layout Layout
	Cards  []Image
}

// Image is the content of one card: its IDm and its blocks by service name. A service
// missing from Blocks, or a list shorter than the service, reads as zero blocks; a
// cyclic service's list starts with the newest record.
type Image struct {
	Label  string
	IDm    felica.IDm
	Blocks map[string][][felica.BlockSize]byte
	// IndividualKey is the card's individualisation code, mixed into AES
	// authentication (zero on test cards).
	IndividualKey secure.AESKey
	// IDi and PMi are what the card reveals, encrypted, in its Authentication2
	// answers; zero means the IDm and the layout's PMm.
	IDi felica.IDm
	PMi felica.PMm
	// KeyOverrides replaces the key version and keys of services, by name, on
	// this card only.
	KeyOverrides map[string]KeyOverride
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

// DemoAES returns the DEMOAES issuer's catalogue embedded in the program: the DEMO
// layout with the balance and history behind AES keys, and cards that hold their own
// (published TEST) keys. Each call returns a fresh copy that the caller may change.
func DemoAES() (*Catalog, error) {
	c, err := Load(bytes.NewReader(demoAESJSON))
	if err != nil {
		return nil, fmt.Errorf("card: embedded demo-aes catalogue: %w", err)
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
	for name, o := range img.KeyOverrides {
		s, ok := l.serviceNamed(name)
		if !ok {
			return fmt.Errorf("%w: card %X: key override for %q, no such service in the layout", ErrInvalidCatalog, img.IDm[:], name)
		}
		if err := validateKeys(s.ReadWrite, o.ReadWriteKeys, name); err != nil {
			return err
		}
		if err := validateKeys(s.ReadOnly, o.ReadOnlyKeys, name); err != nil {
			return err
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
	Cards      []cardFile    `json:"cards"`
	// SystemDESKey is the DES system key (optional).
	SystemDESKey string `json:"systemDesKey"`
	// Keys is the issuer's key store (cards/demo-aes.json): the SAM's, not the
	// card's, so it is accepted and ignored here.
	Keys json.RawMessage `json:"keys"`
}

type areaFile struct {
	AreaCode   string `json:"areaCode"`
	EndCode    string `json:"endCode"`
	KeyVersion string `json:"keyVersion"`
	AESKey     string `json:"aesKey"`
	DESKey     string `json:"desKey"`
}

type serviceFile struct {
	Name       string            `json:"name"`
	Number     uint16            `json:"number"`
	Kind       string            `json:"kind"`
	Codes      map[string]string `json:"codes"`
	Blocks     int               `json:"blocks"`
	KeyVersion string            `json:"keyVersion"`
	AESKeys    keysJSON          `json:"aesKeys"`
	DESKeys    keysJSON          `json:"desKeys"`
}

type cardFile struct {
	Label         string                  `json:"label"`
	IDm           string                  `json:"idm"`
	Blocks        map[string][]string     `json:"blocks"`
	IndividualKey string                  `json:"individualKey"`
	IDi           string                  `json:"idi"`
	PMi           string                  `json:"pmi"`
	KeyOverrides  map[string]overrideFile `json:"keyOverrides"`
}

type overrideFile struct {
	KeyVersion string   `json:"keyVersion"`
	AESKeys    keysJSON `json:"aesKeys"`
	DESKeys    keysJSON `json:"desKeys"`
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
	if c.Layout.SystemKeys, err = parseNodeKeys("", f.SystemDESKey); err != nil {
		return nil, fmt.Errorf("%w: systemDesKey: %w", ErrInvalidCatalog, err)
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
	keys, err := parseNodeKeys(a.AESKey, a.DESKey)
	if err != nil {
		return nil, err
	}
	return append(areas, Area{Code: code, End: end, KeyVersion: kv, Keys: keys}), nil
}

func (s serviceFile) appendTo(services []Service) ([]Service, error) {
	kv, err := parseKeyVersion(s.KeyVersion)
	if err != nil {
		return nil, err
	}
	svc := Service{Name: s.Name, Number: s.Number, Kind: Kind(s.Kind), Blocks: s.Blocks, KeyVersion: kv}
	if svc.ReadWriteKeys, svc.ReadOnlyKeys, err = parseServiceKeys(s.AESKeys, s.DESKeys); err != nil {
		return nil, err
	}
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
	if c.IndividualKey != "" {
		if img.IndividualKey, err = secure.ParseAESKey(c.IndividualKey); err != nil {
			return nil, fieldError("individualKey", err)
		}
	}
	if c.IDi != "" {
		if err := parseHexBytes("idi", c.IDi, img.IDi[:]); err != nil {
			return nil, err
		}
	}
	if c.PMi != "" {
		if err := parseHexBytes("pmi", c.PMi, img.PMi[:]); err != nil {
			return nil, err
		}
	}
	for name, o := range c.KeyOverrides {
		kv, err := parseKeyVersion(o.KeyVersion)
		if err != nil {
			return nil, fieldError("keyOverrides."+name, err)
		}
		ko := KeyOverride{KeyVersion: kv}
		if ko.ReadWriteKeys, ko.ReadOnlyKeys, err = parseServiceKeys(o.AESKeys, o.DESKeys); err != nil {
			return nil, fieldError("keyOverrides."+name, err)
		}
		if img.KeyOverrides == nil {
			img.KeyOverrides = make(map[string]KeyOverride)
		}
		img.KeyOverrides[name] = ko
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
