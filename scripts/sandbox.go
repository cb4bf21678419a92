package scripts

import (
	"errors"
	"regexp"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Sizes of a sandboxed state: deep recursion ends in a clean "stack
// overflow" error instead of exhausting memory.
const (
	luaCallStackSize    = 200
	luaRegistrySize     = 1024 * 4
	luaRegistryMaxSize  = 1024 * 64
	luaRegistryGrowStep = 512
)

// loadTimeout bounds the top-level code of an issuer's files, which only
// defines tables and functions.
const loadTimeout = time.Second

// Limits on what scripts hand back and forth.
const (
	maxVars      = 64
	maxVarString = 4096
	maxBatch     = 16
	maxStepHops  = 64
)

// removedGlobals are base functions a flow must not reach: loaders (code
// from strings or files), raw access and metatables (escape the sandbox's
// rules), the collector, and print (routed to slog instead).
var removedGlobals = []string{
	"dofile", "loadfile", "load", "loadstring", "require", "module",
	"collectgarbage", "rawset", "rawget", "rawequal", "rawlen",
	"setmetatable", "getmetatable", "getfenv", "setfenv", "newproxy",
	"print", "_printregs",
}

// newSandbox returns a state with only base, table, string and math, minus
// what removedGlobals and string.rep/string.dump would allow.
func newSandbox() *lua.LState {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       luaCallStackSize,
		RegistrySize:        luaRegistrySize,
		RegistryMaxSize:     luaRegistryMaxSize,
		RegistryGrowStep:    luaRegistryGrowStep,
		MinimizeStackMemory: true,
	})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range removedGlobals {
		L.SetGlobal(name, lua.LNil)
	}
	if str, ok := L.GetGlobal(lua.StringLibName).(*lua.LTable); ok {
		str.RawSetString("rep", lua.LNil)
		str.RawSetString("dump", lua.LNil)
	}
	openSafeStrings(L)
	return L
}

// luaMessage is the text of a Lua error without Go's stack trace, cut to
// maxErrorMessage bytes (a script may raise error(s) with s of a megabyte).
func luaMessage(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		return truncate(apiErr.Object.String(), maxErrorMessage)
	}
	return truncate(err.Error(), maxErrorMessage)
}

var (
	luaPositionRe = regexp.MustCompile(`^(?:[^:\s]+/)?([^:\s]+\.lua):(\d+):\s*`)
	luaSyntaxRe   = regexp.MustCompile(`line:(\d+)\(column:\d+\)`)
)

// luaLine finds the line a Lua error message names ("file.lua:12: ..." or
// the parser's "line:12(column:3)"), 0 when it names none.
func luaLine(msg string) int {
	if m := luaPositionRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[2])
		return n
	}
	if m := luaSyntaxRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// stripPosition drops the leading "file:line: " of a Lua error message.
func stripPosition(msg string) string {
	if loc := luaPositionRe.FindStringIndex(msg); loc != nil {
		return msg[loc[1]:]
	}
	return msg
}
