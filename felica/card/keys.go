package card

import (
	"fmt"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// NodeKeys are the keys a card holds for one node (a service code, an area or the
// system): nil means none of that kind. A node without an AES key cannot be named
// in Authentication1 v2, one without a DES key not in Authentication1. Keys are
// never printed (the key types redact themselves).
type NodeKeys struct {
	AES *secure.AESKey
	DES *secure.DESKey
}

// KeyOverride replaces one service's key version and keys on one card, as a
// card image's keyOverrides does in cards/demo-aes.json.
type KeyOverride struct {
	KeyVersion                  uint16
	ReadWriteKeys, ReadOnlyKeys NodeKeys
}

// any reports whether the node has a key of either kind.
func (k NodeKeys) any() bool { return k.AES != nil || k.DES != nil }

// keysJSON is the JSON form of a service's keys per code: {"rw": hex, "ro": hex}.
type keysJSON map[string]string

// parseServiceKeys reads aesKeys and desKeys of a service (or of an override)
// into the keys of its read-write and read-only codes.
func parseServiceKeys(aesKeys, desKeys keysJSON) (rw, ro NodeKeys, err error) {
	for code, text := range aesKeys {
		k, err := secure.ParseAESKey(text)
		if err != nil {
			return rw, ro, fieldError("aesKeys."+code, err)
		}
		switch code {
		case "rw":
			rw.AES = &k
		case "ro":
			ro.AES = &k
		default:
			return rw, ro, fmt.Errorf("aesKeys: unknown key %q, want rw or ro", code)
		}
	}
	for code, text := range desKeys {
		k, err := secure.ParseDESKey(text)
		if err != nil {
			return rw, ro, fieldError("desKeys."+code, err)
		}
		switch code {
		case "rw":
			rw.DES = &k
		case "ro":
			ro.DES = &k
		default:
			return rw, ro, fmt.Errorf("desKeys: unknown key %q, want rw or ro", code)
		}
	}
	return rw, ro, nil
}

// parseNodeKeys reads the single aesKey / desKey of an area or the system.
func parseNodeKeys(aesText, desText string) (NodeKeys, error) {
	var keys NodeKeys
	if aesText != "" {
		k, err := secure.ParseAESKey(aesText)
		if err != nil {
			return keys, fieldError("aesKey", err)
		}
		keys.AES = &k
	}
	if desText != "" {
		k, err := secure.ParseDESKey(desText)
		if err != nil {
			return keys, fieldError("desKey", err)
		}
		keys.DES = &k
	}
	return keys, nil
}

// validateKeys refuses a key on a code that needs none: a card would never use it,
// so it is a mistake in the file.
func validateKeys(code felica.NodeCode, keys NodeKeys, service string) error {
	if code != 0 && !code.Keyed() && keys.any() {
		return fmt.Errorf("%w: service %q: code %s needs no key but has one", ErrInvalidCatalog, service, code)
	}
	if code == 0 && keys.any() {
		return fmt.Errorf("%w: service %q: a key for a code it does not have", ErrInvalidCatalog, service)
	}
	return nil
}
