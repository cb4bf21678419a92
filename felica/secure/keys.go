package secure

import (
	"encoding/hex"
	"fmt"
	"log/slog"
)

// redacted is what every key type prints instead of its bytes.
const redacted = "[redacted]"

// AESKey is a 16-byte AES-128 key: a node key, an individualisation code, a
// derived key (group key, α, β) or a session key. It never prints its bytes:
// String, every fmt verb, slog and JSON show "[redacted]".
type AESKey [16]byte

// DESKey is an 8-byte single-DES key (parity bits ignored), redacted like AESKey.
type DESKey [8]byte

// ParseAESKey reads an AES key written as 32 hex digits (either case).
func ParseAESKey(s string) (AESKey, error) {
	var k AESKey
	return k, parseKeyHex(s, k[:], "AES key")
}

// ParseDESKey reads a DES key written as 16 hex digits (either case).
func ParseDESKey(s string) (DESKey, error) {
	var k DESKey
	return k, parseKeyHex(s, k[:], "DES key")
}

// parseKeyHex decodes s into dst; its errors never quote s, which may be a key.
func parseKeyHex(s string, dst []byte, what string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%w: %s: %d characters, need %d hex digits", ErrBadKey, what, len(s), 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		clear(dst)
		return fmt.Errorf("%w: %s: not hex", ErrBadKey, what)
	}
	return nil
}

func (AESKey) String() string               { return "AESKey" + redacted }
func (AESKey) GoString() string             { return "secure.AESKey" + redacted }
func (AESKey) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (AESKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Format makes every verb (%x and %d included) print the redacted form.
func (k AESKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

func (DESKey) String() string               { return "DESKey" + redacted }
func (DESKey) GoString() string             { return "secure.DESKey" + redacted }
func (DESKey) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (DESKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Format makes every verb print the redacted form.
func (k DESKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// xor16 returns a ⊕ b.
func xor16(a, b [16]byte) [16]byte {
	var out [16]byte
	for i := range out {
		out[i] = a[i] ^ b[i]
	}
	return out
}
