package secure_test

import (
	"crypto/aes"
	"testing"

	"github.com/tes-project/tes/felica/secure"
)

// TestCMACRFC4493 runs the four examples of RFC 4493 section 4 (AES-128,
// key 2b7e1516 28aed2a6 abf71588 09cf4f3c).
func TestCMACRFC4493(t *testing.T) {
	const msg = "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710"
	b, err := aes.NewCipher(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		len  int
		want string
	}{
		{"example 1: empty", 0, "bb1d6929e95937287fa37d129b756746"},
		{"example 2: 16 bytes", 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"example 3: 40 bytes", 40, "dfa66747de9ae63030ca32611497c827"},
		{"example 4: 64 bytes", 64, "51f0bebf7e3b9d92fc49741779363cfe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := secure.CMAC(b, unhex(t, msg)[:tc.len])
			if want := unhex(t, tc.want); string(got[:]) != string(want) {
				t.Errorf("CMAC = %X, want %X", got, want)
			}
		})
	}
}
