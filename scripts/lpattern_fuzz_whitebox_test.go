package scripts

import (
	"context"
	"errors"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// FuzzLuaPattern runs find, match, gmatch and gsub with any pattern and
// subject: each either answers or raises a Lua error, never a Go panic
// (an index out of range would come back from PCall as ApiErrorPanic).
func FuzzLuaPattern(f *testing.F) {
	for _, seed := range [][2]string{
		{"%a+", "hello world"},
		{"^(%d+)-(%d+)$", "12-34"},
		{"%b()", "f(a(b)c)d"},
		{"%f[%w]%w+", "THE (quick) fox"},
		{"[%]%-a-z]+", "a-]z"},
		{"[^", "x"},
		{"(()", "x"},
		{"%", "x"},
		{"%1", "x"},
		{"(a)%1", "aa"},
		{".-.-.-x", "aaaaaaaaaaaaaaaa"},
		{"$^", "$^"},
		{"%bx", "x"},
		{"[a-]", "-"},
		{"()", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	L := newSandbox()
	defer L.Close()
	str := L.GetGlobal("string").(*lua.LTable)
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		L.SetContext(ctx)
		defer L.RemoveContext()
		for _, name := range []string{"find", "match", "gsub", "gmatch"} {
			args := []lua.LValue{lua.LString(subject), lua.LString(pattern)}
			if name == "gsub" {
				args = append(args, lua.LString("<%0>"))
			}
			err := L.CallByParam(lua.P{Fn: str.RawGetString(name), NRet: 1, Protect: true}, args...)
			if err == nil && name == "gmatch" {
				iter := L.Get(-1)
				L.Pop(1)
				for range 64 {
					if err = L.CallByParam(lua.P{Fn: iter, NRet: 1, Protect: true}); err != nil || L.Get(-1) == lua.LNil {
						break
					}
					L.Pop(1)
				}
			}
			L.SetTop(0)
			var apiErr *lua.ApiError
			if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorPanic {
				t.Fatalf("%s(%q, %q): Go panic: %v", name, subject, pattern, err)
			}
		}
	})
}
