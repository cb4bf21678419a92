package scripts

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// runChunk runs src in a sandbox, as the loader would compile it, and
// returns what it returns, joined by "|", or the error.
func runChunk(t testing.TB, ctx context.Context, src string) (string, error) {
	t.Helper()
	stmts, err := parse.Parse(strings.NewReader(src), "T/t.lua")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	rewriteConcat(reflect.ValueOf(stmts))
	proto, err := lua.Compile(stmts, "T/t.lua")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	L := newSandbox()
	defer L.Close()
	L.SetContext(ctx)
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, lua.MultRet, nil); err != nil {
		return "", err
	}
	var out []string
	for i := 1; i <= L.GetTop(); i++ {
		out = append(out, L.Get(i).String())
	}
	return strings.Join(out, "|"), nil
}

// TestPatternsKeepLua51Semantics checks the ported matcher against what
// Lua 5.1 answers.
func TestPatternsKeepLua51Semantics(t *testing.T) {
	tests := []struct{ src, want string }{
		{`return string.find("hello world", "o w")`, "5|7"},
		{`return string.find("hello", "l+")`, "3|4"},
		{`return string.find("a.b", ".", 1, true)`, "2|2"},
		{`return string.find("a.b", "%.")`, "2|2"},
		{`return string.find("abc", "b", -1)`, "nil"},
		{`return string.find("abc", "")`, "1|0"},
		{`return string.find("abc", "", 10)`, "4|3"},
		{`return string.find("hello", "(l)(l)")`, "3|4|l|l"},
		{`return string.find("hello", "()ll()")`, "3|4|3|5"},
		{`return string.match("key=val", "(%w+)=(%w+)")`, "key|val"},
		{`return string.match("  trim  ", "^%s*(.-)%s*$")`, "trim"},
		{`return string.match("2024-01-31", "^(%d%d%d%d)-(%d%d)-(%d%d)$")`, "2024|01|31"},
		{`return string.match("abc", "^b")`, "nil"},
		{`return string.match("f(a(b)c)d", "%b()")`, "(a(b)c)"},
		{`return string.match("THE (quick) fox", "%f[%a]%a+", 5)`, "quick"},
		{`return string.match("hello", ".-l")`, "hel"},
		{`return string.match("hello", "l*")`, ""},
		{`return string.match("x = 10", "(%a)%s*=%s*(%d+)")`, "x|10"},
		{`return string.match("aaa", "(a)%1")`, "a"},
		{`return string.match("[x]", "[%[](.)[%]]")`, "x"},
		{`return string.match("a-b", "[a-]+")`, "a-"},
		{`return string.match("0F1A", "^[%x]+$")`, "0F1A"},
		{`return string.match("ab", "[^a]")`, "b"},
		{`return string.match("a$b", "a$b")`, "a$b"},
		{`return ("abc"):match("b")`, "b"},
		{`return string.gsub("hello world", "o", "0")`, "hell0 w0rld|2"},
		{`return string.gsub("hello world", "(%w+)", "<%1>")`, "<hello> <world>|2"},
		{`return string.gsub("abc", "", "-")`, "-a-b-c-|4"},
		{`return string.gsub("abc", "%w", "%0%0", 2)`, "aabbc|2"},
		{`return string.gsub("$name is $age", "%$(%w+)", {name="Bob", age=42})`, "Bob is 42|2"},
		{`return string.gsub("a b", "%w", function(c) return c:upper() end)`, "A B|2"},
		{`return string.gsub("a b", "%w", function(c) return nil end)`, "a b|2"},
		{`return string.gsub("hello", "^h", "H")`, "Hello|1"},
		{`return string.gsub("100%", "%%", " percent")`, "100 percent|1"},
		{`local t = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[#t+1] = k .. v end return table.concat(t, ",")`, "a1,b2"},
		{`local n = 0 for w in ("one two  three"):gmatch("%a+") do n = n + 1 end return n`, "3"},
		{`local t = {} for p in ("abc"):gmatch("()") do t[#t+1] = p end return table.concat(t, ",")`, "1,2,3,4"},
		{`return "a" .. 1 .. "b" .. 2.5`, "a1b2.5"},
		{`local s = "x" return (s .. s) .. s`, "xxx"},
		{`return table.concat({1, 2, 3}, ", ")`, "1, 2, 3"},
		{`return table.concat({"a", "b", "c"}, "", 2)`, "bc"},
		{`return table.concat({"a", "b", "c"}, "", 2, 1)`, ""},
		{`local t = {3, 1, 2} table.sort(t) return table.concat(t, ",")`, "1,2,3"},
		{`local t = {"b", "c", "a"} table.sort(t, function(a, b) return a > b end) return table.concat(t, ",")`, "c,b,a"},
		{`return string.format("%02X%s%5.1f", 10, "x", 1.25)`, "0Ax  1.2"},
		{`return string.format("%d%%", 5)`, "5%"},
	}
	for _, tt := range tests {
		got, err := runChunk(t, context.Background(), tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.src, got, tt.want)
		}
	}
}

// TestBuiltinsRefuseHugeResults checks that no single call can build a
// string past maxLuaString or a format past Lua's limits.
func TestBuiltinsRefuseHugeResults(t *testing.T) {
	mib := `local s = "x" for i = 1, 20 do s = s .. s end ` // 1 MiB
	tests := []struct{ src, want string }{
		{mib + `return #s`, ""},
		{mib + `s = s .. "y"`, "..: result longer than"},
		{`local s = "x" while true do s = s .. s end`, "..: result longer than"},
		{mib + `local t = {} for i = 1, 1000 do t[i] = s end return table.concat(t)`, "table.concat: result longer than"},
		{mib + `return s:sub(2):gsub(".", "%0%0")`, "string.gsub: result longer than"},
		{mib + `return string.format("%s%s", s, s)`, "string.format: result longer than"},
		{`return string.format("%999999d", 1)`, "invalid format"},
		{`return string.format("%.100f", 1)`, "invalid format"},
		{`return string.format("%*d", 9, 1)`, "invalid option"},
		{`return string.find("x", "(")`, "unfinished capture"},
		{`return string.find("x", "%")`, "malformed pattern"},
		{`return string.find("x", "[x")`, "malformed pattern"},
		{`return string.find("x", "%1")`, "invalid capture index"},
		{`return string.find("x", "` + strings.Repeat("(x?", 250) + strings.Repeat(")", 250) + `")`, "too many captures"},
		{`return string.find("` + strings.Repeat("x", 250) + `", "` + strings.Repeat("x?", 250) + `")`, "pattern too complex"},
		{`local t = {} t[67108863] = 1 return #t`, ""},
		{`return nil .. "x"`, "attempt to concatenate a nil value"},
	}
	for _, tt := range tests {
		_, err := runChunk(t, context.Background(), tt.src)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.src, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.src, err, tt.want)
		}
	}
}

// TestLongBuiltinsStopWhenTheContextEnds runs builtins that would take
// seconds or more with a context already cancelled partway: each must
// return an error mentioning the context rather than run to its end.
func TestLongBuiltinsStopWhenTheContextEnds(t *testing.T) {
	s8k := `local s = "a" for i = 1, 13 do s = s .. s end `
	tests := map[string]string{
		"find":   s8k + `return string.find(s, ".-.-.-.-.-.-.-.-.-.-x")`,
		"match":  s8k + `return string.match(s, "(.-)(.-)(.-)(.-)(.-)(.-)(.-)(.-)x")`,
		"gmatch": s8k + `for m in s:gmatch(".-.-.-.-.-.-.-.-x") do end`,
		"gsub":   s8k + `return s:gsub(".-.-.-.-.-.-.-.-.-x", "")`,
		"sort": `local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 100003 end
			table.sort(t, function(a, b) return a < b end)`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err := runChunk(t, ctx, src)
			if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
				t.Errorf("error %v, want the context's", err)
			}
		})
	}
}
