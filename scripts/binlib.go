package scripts

import (
	"encoding/hex"
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// binFuncs is the bin module: the guards' byte helpers for Lua, with Lua
// strings as byte strings and 0-based offsets as in the card's layout.
var binFuncs = map[string]lua.LGFunction{
	"le":     binRead(littleEndian),
	"sle":    binRead(signedLittleEndian),
	"be":     binRead(bigEndian),
	"bcd":    binRead(binaryCodedDecimal),
	"u8":     binU8,
	"hex":    binHex,
	"unhex":  binUnhex,
	"days":   binDays,
	"date":   binDate,
	"put_le": binPut(false),
	"put_be": binPut(true),
	"block":  binBlock,
	"set":    binSet,
}

func binRead(read func([]byte, int, int) (int, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		v, err := read([]byte(L.CheckString(1)), L.CheckInt(2), L.CheckInt(3))
		if err != nil {
			L.RaiseError("%v", err)
		}
		L.Push(lua.LNumber(v))
		return 1
	}
}

func binU8(L *lua.LState) int {
	v, err := littleEndian([]byte(L.CheckString(1)), L.CheckInt(2), 1)
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(lua.LNumber(v))
	return 1
}

func binHex(L *lua.LState) int {
	s := L.CheckString(1)
	checkLen(L, "bin.hex", 2*len(s))
	L.Push(lua.LString(fmt.Sprintf("%X", s)))
	return 1
}

func binUnhex(L *lua.LState) int {
	b, err := hex.DecodeString(L.CheckString(1))
	if err != nil {
		L.RaiseError("bin.unhex: %v", err)
	}
	L.Push(lua.LString(b))
	return 1
}

func binDays(L *lua.LState) int {
	d, err := daysOf(L.CheckString(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(lua.LNumber(d))
	return 1
}

func binDate(L *lua.LState) int {
	L.Push(lua.LString(dateOf(L.CheckInt(1))))
	return 1
}

// binPut encodes value in n bytes (1..8), two's complement for negatives.
func binPut(bigEndianOrder bool) lua.LGFunction {
	return func(L *lua.LState) int {
		v, n := L.CheckInt64(1), L.CheckInt(2)
		if n < 1 || n > maxFieldBytes {
			L.ArgError(2, "width must be 1..8 bytes")
		}
		out := make([]byte, n)
		for i := range n {
			pos := i
			if bigEndianOrder {
				pos = n - 1 - i
			}
			out[pos] = byte(uint64(v) >> (8 * i))
		}
		L.Push(lua.LString(out))
		return 1
	}
}

// binBlock concatenates its arguments and pads with zeros to one 16-byte block.
func binBlock(L *lua.LState) int {
	var b []byte
	for i := 1; i <= L.GetTop(); i++ {
		s := L.CheckString(i)
		if len(b)+len(s) > 16 {
			L.RaiseError("bin.block: %d bytes do not fit a 16-byte block", len(b)+len(s))
		}
		b = append(b, s...)
	}
	b = append(b, make([]byte, 16-len(b))...)
	L.Push(lua.LString(b))
	return 1
}

// binSet returns s with part written at offset off.
func binSet(L *lua.LState) int {
	s, off, part := []byte(L.CheckString(1)), L.CheckInt(2), L.CheckString(3)
	if off < 0 || off+len(part) > len(s) {
		L.RaiseError("bin.set: bytes %d..%d out of range of %d bytes", off, off+len(part)-1, len(s))
	}
	copy(s[off:], part)
	L.Push(lua.LString(s))
	return 1
}
