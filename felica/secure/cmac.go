package secure

import "crypto/cipher"

// The standard library has no CMAC, and the one use here (an 8-byte tag over
// at most 255 bytes with AES-128) does not justify a dependency: this is
// RFC 4493 as written, tested against the RFC's own examples (cmac_test.go).

// cmacRb is the constant R_b of RFC 4493 for a 128-bit block.
const cmacRb = 0x87

// cmacSubkeys derives K1 and K2 (RFC 4493 section 2.3).
func cmacSubkeys(b cipher.Block) (k1, k2 [16]byte) {
	var l [16]byte
	b.Encrypt(l[:], l[:])
	k1 = dbl(l)
	k2 = dbl(k1)
	clear(l[:])
	return k1, k2
}

// dbl shifts a block left by one bit and folds the carry back with R_b.
func dbl(in [16]byte) [16]byte {
	var out [16]byte
	carry := in[0] >> 7
	for i := 0; i < 15; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[15] = in[15] << 1
	out[15] ^= cmacRb & -carry // constant time: no branch on the key-derived bit
	return out
}

// CMAC returns the 16-byte AES-CMAC of msg under the cipher b (RFC 4493
// section 2.4). Callers that want a shorter tag take its first bytes.
func CMAC(b cipher.Block, msg []byte) [16]byte {
	k1, k2 := cmacSubkeys(b)
	defer clear(k1[:])
	defer clear(k2[:])
	var x [16]byte
	n := (len(msg) + 15) / 16
	if n == 0 {
		n = 1
	}
	for i := 0; i < n-1; i++ {
		for j := range 16 {
			x[j] ^= msg[16*i+j]
		}
		b.Encrypt(x[:], x[:])
	}
	last := msg[16*(n-1):]
	var m [16]byte
	if len(last) == 16 {
		m = xor16([16]byte(last), k1)
	} else {
		copy(m[:], last)
		m[len(last)] = 0x80
		m = xor16(m, k2)
	}
	for j := range 16 {
		x[j] ^= m[j]
	}
	b.Encrypt(x[:], x[:])
	return x
}
