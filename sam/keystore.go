package sam

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// testKeysDEMOAES is the key file of the DEMOAES issuer: the "keys" object of
// shared/cards/demo-aes.json. These are published TEST KEYS, known to everyone;
// they protect nothing and must never stand for a real issuer's keys.
//
//go:embed testkeys/DEMOAES.json
var testKeysDEMOAES []byte

// KeyStore is the keys of the issuers a SAM serves: per issuer, the AES node keys
// by (node, key version) and the cards' individualisation codes. It is built by
// LoadKeyDir, ParseKeyFile or TestKeys and never changed afterwards, except by
// Clear; it prints without its keys.
type KeyStore struct {
	issuers map[string]*issuerKeys
}

// issuerKeys is one key file.
type issuerKeys struct {
	nodes      map[nodeVersion]secure.AESKey
	defaultInd secure.AESKey
	cards      map[felica.IDm]secure.AESKey
}

type nodeVersion struct {
	node    felica.NodeCode
	version uint16
}

// The JSON of a key file (CONTRACT.md section 5).
type keyFile struct {
	IssuerID       string        `json:"issuerId"`
	NodeKeys       []nodeKeyFile `json:"nodeKeys"`
	IndividualKeys struct {
		Default string            `json:"default"`
		Cards   map[string]string `json:"cards"`
	} `json:"individualKeys"`
}

type nodeKeyFile struct {
	Node    string `json:"node"`
	Version string `json:"version"`
	AES     string `json:"aes"`
}

// TestKeys returns a key store holding only DEMOAES's published TEST KEYS (the
// "keys" of cards/demo-aes.json), for tests, `tes sim` and demonstrations.
func TestKeys() (*KeyStore, error) {
	ks := &KeyStore{issuers: make(map[string]*issuerKeys, 1)}
	if err := ks.add("DEMOAES", bytes.NewReader(testKeysDEMOAES)); err != nil {
		return nil, fmt.Errorf("sam: embedded DEMOAES test keys: %w", err)
	}
	return ks, nil
}

// ParseKeyFile reads one issuer's key file; the issuerId inside must be issuer.
func ParseKeyFile(issuer string, r io.Reader) (*KeyStore, error) {
	ks := &KeyStore{issuers: make(map[string]*issuerKeys, 1)}
	if err := ks.add(issuer, r); err != nil {
		return nil, err
	}
	return ks, nil
}

// LoadKeyDir reads every <issuerId>.json of dir. A file readable by group or
// others (mode & 0o077 != 0) is refused, as is a file whose issuerId is not its
// name; one bad file fails the whole load, so that a reload is all or nothing.
func LoadKeyDir(dir string) (*KeyStore, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyStore, err)
	}
	ks := &KeyStore{issuers: make(map[string]*issuerKeys)}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		if err := ks.addFile(filepath.Join(dir, name), strings.TrimSuffix(name, ".json")); err != nil {
			ks.Clear()
			return nil, err
		}
	}
	return ks, nil
}

func (ks *KeyStore) addFile(path, issuer string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyStore, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyStore, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrKeyStore, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, readable by others than its owner: chmod 600 it", ErrKeyStore, path, perm)
	}
	if err := ks.add(issuer, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// add parses one key file into the store. Its errors name fields, never keys.
func (ks *KeyStore) add(issuer string, r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f keyFile
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrKeyStore, issuer, jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: data after the key file", ErrKeyStore, issuer)
	}
	if f.IssuerID != issuer {
		return fmt.Errorf("%w: file of issuer %q holds issuerId %q", ErrKeyStore, issuer, f.IssuerID)
	}
	keys := &issuerKeys{nodes: make(map[nodeVersion]secure.AESKey, len(f.NodeKeys)), cards: make(map[felica.IDm]secure.AESKey, len(f.IndividualKeys.Cards))}
	fail := func(format string, args ...any) error {
		keys.clear()
		return fmt.Errorf("%w: %s: %s", ErrKeyStore, issuer, fmt.Sprintf(format, args...))
	}
	for i, nk := range f.NodeKeys {
		node, err := felica.ParseNodeCode(nk.Node)
		if err != nil {
			return fail("nodeKeys[%d].node: %v", i, err)
		}
		version, err := felica.ParseNodeCode(nk.Version)
		if err != nil || uint16(version) == felica.KeyVersionNone {
			return fail("nodeKeys[%d].version: want 4 hex digits, not FFFF", i)
		}
		k, err := secure.ParseAESKey(nk.AES)
		if err != nil {
			return fail("nodeKeys[%d].aes: %v", i, err)
		}
		nv := nodeVersion{node, uint16(version)}
		if _, dup := keys.nodes[nv]; dup {
			return fail("nodeKeys[%d]: node %s version %s listed twice", i, nk.Node, nk.Version)
		}
		keys.nodes[nv] = k
	}
	if f.IndividualKeys.Default != "" {
		k, err := secure.ParseAESKey(f.IndividualKeys.Default)
		if err != nil {
			return fail("individualKeys.default: %v", err)
		}
		keys.defaultInd = k
	}
	for text, hexKey := range f.IndividualKeys.Cards {
		idm, err := felica.ParseIDm(text)
		if err != nil {
			return fail("individualKeys.cards: %v", err)
		}
		k, err := secure.ParseAESKey(hexKey)
		if err != nil {
			return fail("individualKeys.cards[%s]: %v", idm.Masked(), err)
		}
		keys.cards[idm] = k
	}
	if old, ok := ks.issuers[issuer]; ok {
		old.clear()
	}
	ks.issuers[issuer] = keys
	return nil
}

// jsonError keeps the position and kind of a JSON error but not the text around
// it, which may be a key.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("JSON syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("JSON field %s: want %s", typ.Field, typ.Type)
	}
	return err
}

// Issuers lists the issuers the store has keys for, sorted.
func (ks *KeyStore) Issuers() []string {
	if ks == nil {
		return nil
	}
	out := make([]string, 0, len(ks.issuers))
	for id := range ks.issuers {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Clear zeroes every key of the store and empties it. A SAM calls it on the store
// it drops; nothing may use the store afterwards.
func (ks *KeyStore) Clear() {
	if ks == nil {
		return
	}
	for id, k := range ks.issuers {
		k.clear()
		delete(ks.issuers, id)
	}
}

func (k *issuerKeys) clear() {
	for nv := range k.nodes {
		k.nodes[nv] = secure.AESKey{}
	}
	clear(k.nodes)
	for id := range k.cards {
		k.cards[id] = secure.AESKey{}
	}
	clear(k.cards)
	k.defaultInd = secure.AESKey{}
}

// merge adds the issuers of other that ks lacks.
func (ks *KeyStore) merge(other *KeyStore) {
	for id, k := range other.issuers {
		if _, ok := ks.issuers[id]; !ok {
			ks.issuers[id] = k
			delete(other.issuers, id)
		}
	}
	other.Clear()
}

// Format prints the issuers, never a key.
func (ks *KeyStore) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "sam.KeyStore%v", ks.Issuers())
}

// LogValue keeps keys out of structured logs.
func (ks *KeyStore) LogValue() slog.Value {
	return slog.AnyValue(ks.Issuers())
}
