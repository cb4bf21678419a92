package scripts

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/expr-lang/expr"
)

// epoch is day 0 of the cards' dates.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxFieldBytes bounds integer fields read from blocks.
const maxFieldBytes = 8

func field(b []byte, off, n int) ([]byte, error) {
	if n < 1 || n > maxFieldBytes || off < 0 || off+n > len(b) {
		return nil, fmt.Errorf("bytes %d..%d out of range of %d bytes", off, off+n-1, len(b))
	}
	return b[off : off+n], nil
}

// littleEndian reads an unsigned little-endian integer of n bytes at off.
func littleEndian(b []byte, off, n int) (int, error) {
	f, err := field(b, off, n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := len(f) - 1; i >= 0; i-- {
		v = v<<8 | uint64(f[i])
	}
	return int(v), nil
}

// signedLittleEndian reads a two's-complement little-endian integer.
func signedLittleEndian(b []byte, off, n int) (int, error) {
	v, err := littleEndian(b, off, n)
	if err != nil || n == maxFieldBytes {
		return v, err
	}
	if sign := 1 << (8*n - 1); v&sign != 0 {
		v -= 1 << (8 * n)
	}
	return v, nil
}

func bigEndian(b []byte, off, n int) (int, error) {
	f, err := field(b, off, n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range f {
		v = v<<8 | uint64(c)
	}
	return int(v), nil
}

// binaryCodedDecimal reads n bytes of packed BCD, most significant first.
func binaryCodedDecimal(b []byte, off, n int) (int, error) {
	f, err := field(b, off, n)
	if err != nil {
		return 0, err
	}
	v := 0
	for _, c := range f {
		hi, lo := int(c>>4), int(c&0x0F)
		if hi > 9 || lo > 9 {
			return 0, fmt.Errorf("byte %02X is not BCD", c)
		}
		v = v*100 + hi*10 + lo
	}
	return v, nil
}

// daysOf turns YYYY-MM-DD into days since 2000-01-01.
func daysOf(date string) (int, error) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	return int(t.Sub(epoch).Hours() / 24), nil
}

// dateOf turns days since 2000-01-01 into YYYY-MM-DD.
func dateOf(days int) string { return epoch.AddDate(0, 0, days).Format(time.DateOnly) }

// dayOf is the day number of t.
func dayOf(t time.Time) int { return int(t.UTC().Sub(epoch).Hours() / 24) }

func hasArea(areas []AreaFact, code, keyVersion int) bool {
	for _, a := range areas {
		if a.Code == code && a.KeyVersion == keyVersion {
			return true
		}
	}
	return false
}

func blockOf(r Response, i int) ([]byte, error) {
	if i < 0 || i >= len(r.Blocks) {
		return nil, fmt.Errorf("block %d of a %s answer with %d blocks", i, r.Kind, len(r.Blocks))
	}
	return r.Blocks[i], nil
}

// helperOptions is the one table of typed helper functions that every guard
// and quirk condition compiles with.
func helperOptions() []expr.Option {
	bytesIntInt := new(func([]byte, int, int) int)
	return []expr.Option{
		expr.Function("le", func(p ...any) (any, error) {
			return littleEndian(p[0].([]byte), p[1].(int), p[2].(int))
		}, bytesIntInt),
		expr.Function("sle", func(p ...any) (any, error) {
			return signedLittleEndian(p[0].([]byte), p[1].(int), p[2].(int))
		}, bytesIntInt),
		expr.Function("be", func(p ...any) (any, error) {
			return bigEndian(p[0].([]byte), p[1].(int), p[2].(int))
		}, bytesIntInt),
		expr.Function("bcd", func(p ...any) (any, error) {
			return binaryCodedDecimal(p[0].([]byte), p[1].(int), p[2].(int))
		}, bytesIntInt),
		expr.Function("u8", func(p ...any) (any, error) {
			return littleEndian(p[0].([]byte), p[1].(int), 1)
		}, new(func([]byte, int) int)),
		expr.Function("hex", func(p ...any) (any, error) {
			return fmt.Sprintf("%X", p[0].([]byte)), nil
		}, new(func([]byte) string)),
		expr.Function("unhex", func(p ...any) (any, error) {
			return hex.DecodeString(p[0].(string))
		}, new(func(string) []byte)),
		expr.Function("days", func(p ...any) (any, error) {
			return daysOf(p[0].(string))
		}, new(func(string) int)),
		expr.Function("date", func(p ...any) (any, error) {
			return dateOf(p[0].(int)), nil
		}, new(func(int) string)),
		expr.Function("block", func(p ...any) (any, error) {
			return blockOf(p[0].(Response), p[1].(int))
		}, new(func(Response, int) []byte)),
		expr.Function("hasArea", func(p ...any) (any, error) {
			return hasArea(p[0].([]AreaFact), p[1].(int), p[2].(int)), nil
		}, new(func([]AreaFact, int, int) bool)),
	}
}
