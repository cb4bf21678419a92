package secure

import (
	"crypto/aes"
	"encoding/hex"
	"testing"
)

// TestCMACSubkeysRFC4493 checks K1 and K2 of RFC 4493 section 4.
func TestCMACSubkeysRFC4493(t *testing.T) {
	key, _ := hex.DecodeString("2b7e151628aed2a6abf7158809cf4f3c")
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := cmacSubkeys(b)
	if got := hex.EncodeToString(k1[:]); got != "fbeed618357133667c85e08f7236a8de" {
		t.Errorf("K1 = %s", got)
	}
	if got := hex.EncodeToString(k2[:]); got != "f7ddac306ae266ccf90bc11ee46d513b" {
		t.Errorf("K2 = %s", got)
	}
}
