package secure_test

import (
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces, failing the test on bad input.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func u16(t testing.TB, s string) [16]byte {
	t.Helper()
	b := unhex(t, s)
	if len(b) != 16 {
		t.Fatalf("%q is %d bytes, want 16", s, len(b))
	}
	return [16]byte(b)
}

func u8(t testing.TB, s string) [8]byte {
	t.Helper()
	b := unhex(t, s)
	if len(b) != 8 {
		t.Fatalf("%q is %d bytes, want 8", s, len(b))
	}
	return [8]byte(b)
}
