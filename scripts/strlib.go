package scripts

import (
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// maxLuaString is the longest string a builtin may produce: the `..`
// operator, table.concat, string.gsub, string.format, log lines. Flows
// handle frames of at most 255 bytes and keep at most 4 KiB per variable;
// 1 MiB leaves any honest use far behind while bounding what one call can
// allocate to a small part of the memory budget of all running steps
// (256 MiB by default), so that no single call outruns the heap monitor.
// It is a constant rather than a per-issuer setting because nothing a
// flow does needs more, and a knob would only let one issuer hurt others.
const maxLuaString = 1 << 20

// maxLuaArray is the largest index gopher-lua keeps in a table's array
// part (lua.MaxArrayIndex, 64 Mi by default). Setting t[n] past the end of
// the array fills the gap in one instruction, so t[67108863] = 1 allocated
// 1 GiB without the time limit seeing it; above this index keys go to the
// hash part (# of a table then stops counting there).
const maxLuaArray = 1 << 20

// workCheckEvery is how many units of work a builtin does between two
// looks at the step's context.
const workCheckEvery = 1024

func init() {
	// gopher-lua's only knob for this is a package variable; scripts is
	// the process's only user of gopher-lua, and it is set before any
	// state exists.
	lua.MaxArrayIndex = maxLuaArray
}

// workMeter counts the work of one builtin call and raises a Lua error
// once the context of the state it runs on is done, so that a cancelled
// step stops inside a long builtin as it does between VM instructions.
type workMeter struct {
	L *lua.LState
	n int
}

func (w *workMeter) charge(units int) {
	w.n += units
	if w.n < workCheckEvery {
		return
	}
	w.n = 0
	if ctx := w.L.Context(); ctx != nil {
		if err := ctx.Err(); err != nil {
			w.L.RaiseError("stopped: %v", err)
		}
	}
}

// checkLen raises a Lua error when a builtin would produce a string longer
// than maxLuaString.
func checkLen(L *lua.LState, what string, n int) {
	if n > maxLuaString || n < 0 {
		L.RaiseError("%s: result longer than %d bytes", what, maxLuaString)
	}
}

// openSafeStrings replaces the string and table functions that can run
// long or allocate without bound inside one call, and installs the
// builtin that the loader puts in place of every `..` (concatName).
func openSafeStrings(L *lua.LState) {
	str := L.GetGlobal(lua.StringLibName).(*lua.LTable)
	format, _ := str.RawGetString("format").(*lua.LFunction)
	for name, fn := range map[string]lua.LGFunction{
		"find":   strFind,
		"match":  strMatch,
		"gmatch": strGmatch,
		"gsub":   strGsub,
		"format": strFormat(format),
	} {
		str.RawSetString(name, L.NewFunction(fn))
	}
	str.RawSetString("gfind", lua.LNil)
	tbl := L.GetGlobal(lua.TabLibName).(*lua.LTable)
	tbl.RawSetString("concat", L.NewFunction(tableConcat))
	tbl.RawSetString("sort", L.NewFunction(tableSort))
	L.SetGlobal(concatName, L.NewFunction(luaConcat))
}

// posrelat turns a Lua string position (negative from the end) into a
// 0-based offset, Lua 5.1's posrelat minus one, clamped to [0, n].
func posrelat(pos, n int) int {
	if pos < 0 {
		pos += n + 1
	}
	pos--
	if pos < 0 {
		return 0
	}
	if pos > n {
		return n
	}
	return pos
}

func strFind(L *lua.LState) int  { return strFindAux(L, true) }
func strMatch(L *lua.LState) int { return strFindAux(L, false) }

// strFindAux is Lua 5.1's str_find_aux: string.find and string.match.
func strFindAux(L *lua.LState, find bool) int {
	s, p := L.CheckString(1), L.CheckString(2)
	init := posrelat(L.OptInt(3, 1), len(s))
	if find && (lua.LVAsBool(L.Get(4)) || !strings.ContainsAny(p, patternSpecials)) {
		if i := strings.Index(s[init:], p); i >= 0 {
			L.Push(lua.LNumber(init + i + 1))
			L.Push(lua.LNumber(init + i + len(p)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	anchor := strings.HasPrefix(p, "^")
	if anchor {
		p = p[1:]
	}
	ms := &matchState{L: L, src: s, pat: p, work: &workMeter{L: L}}
	for s1 := init; s1 <= len(s); s1++ {
		ms.level, ms.depth = 0, 0
		if e := ms.match(s1, 0); e != -1 {
			if find {
				L.Push(lua.LNumber(s1 + 1))
				L.Push(lua.LNumber(e))
				return ms.pushCaptures(s1, e, false) + 2
			}
			return ms.pushCaptures(s1, e, true)
		}
		if anchor {
			break
		}
	}
	L.Push(lua.LNil)
	return 1
}

// strGmatch is string.gmatch: each call of the iterator finds the next
// match only, as in Lua, instead of every match up front.
func strGmatch(L *lua.LState) int {
	s, p := L.CheckString(1), L.CheckString(2)
	pos := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		ms := &matchState{L: L, src: s, pat: p, work: &workMeter{L: L}}
		for ; pos <= len(s); pos++ {
			ms.level, ms.depth = 0, 0
			if e := ms.match(pos, 0); e != -1 {
				start := pos
				pos = e
				if e == start { // an empty match: go on at least one byte
					pos++
				}
				return ms.pushCaptures(start, e, true)
			}
		}
		return 0
	}))
	return 1
}

// strGsub is Lua 5.1's str_gsub, with its result capped at maxLuaString.
func strGsub(L *lua.LState) int {
	src, p := L.CheckString(1), L.CheckString(2)
	repl := L.Get(3)
	switch repl.Type() {
	case lua.LTNumber, lua.LTString, lua.LTFunction, lua.LTTable:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := L.OptInt(4, len(src)+1)
	anchor := strings.HasPrefix(p, "^")
	if anchor {
		p = p[1:]
	}
	ms := &matchState{L: L, src: src, pat: p, work: &workMeter{L: L}}
	var b strings.Builder
	add := func(part string) {
		checkLen(L, "string.gsub", b.Len()+len(part))
		b.WriteString(part)
	}
	s, n := 0, 0
scan:
	for n < maxN {
		ms.level, ms.depth = 0, 0
		e := ms.match(s, 0)
		if e != -1 {
			n++
			add(gsubValue(ms, repl, s, e))
		}
		switch {
		case e != -1 && e > s: // a non-empty match: skip it
			s = e
		case s < len(src):
			add(src[s : s+1])
			s++
		default:
			break scan // the subject is used up
		}
		if anchor {
			break
		}
	}
	if s < len(src) {
		add(src[s:])
	}
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// gsubValue is the replacement of the match src[s:e] (Lua 5.1's add_value).
func gsubValue(ms *matchState, repl lua.LValue, s, e int) string {
	L := ms.L
	var v lua.LValue
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		return gsubString(ms, lua.LVAsString(r), s, e)
	case *lua.LFunction:
		L.Push(r)
		L.Call(ms.pushCaptures(s, e, true), 1)
		v = L.Get(-1)
		L.Pop(1)
	case *lua.LTable:
		v = L.GetTable(r, ms.captureValue(0, s, e))
	}
	if !lua.LVAsBool(v) {
		return ms.src[s:e] // nil or false keeps the original text
	}
	if !lua.LVCanConvToString(v) {
		L.RaiseError("invalid replacement value (a %s)", v.Type())
	}
	return lua.LVAsString(v)
}

// gsubString expands %0..%9 and %% in a replacement string (add_s).
func gsubString(ms *matchState, news string, s, e int) string {
	if !strings.Contains(news, "%") {
		return news
	}
	var b strings.Builder
	for i := 0; i < len(news); i++ {
		c := news[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		switch {
		case i >= len(news):
			ms.L.RaiseError("invalid use of '%%' in replacement string")
		case !isDigit(news[i]):
			b.WriteByte(news[i])
		case news[i] == '0':
			b.WriteString(ms.src[s:e])
		default:
			b.WriteString(lua.LVAsString(ms.captureValue(int(news[i]-'1'), s, e)))
		}
		checkLen(ms.L, "string.gsub", b.Len())
	}
	return b.String()
}

// strFormat wraps gopher-lua's string.format (Go's fmt underneath) with
// Lua 5.1's limits, which Go's fmt lacks: width and precision of at most
// two digits and no '*', so that "%999999d" cannot ask for megabytes; and
// the result, estimated from the arguments before anything is built, at
// most maxLuaString.
func strFormat(orig *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		f := L.CheckString(1)
		size, verbs := len(f), 0
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				continue
			}
			i++
			if i < len(f) && f[i] == '%' {
				continue
			}
			verbs++
			for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
				i++
			}
			digits := 0
			for ; i < len(f) && isDigit(f[i]); i++ {
				digits++
			}
			if i < len(f) && f[i] == '.' {
				i++
				precision := 0
				for ; i < len(f) && isDigit(f[i]); i++ {
					precision++
				}
				digits = max(digits, precision)
			}
			if digits > 2 {
				L.RaiseError("invalid format (width or precision too long)")
			}
			if i < len(f) && f[i] == '*' {
				L.RaiseError("invalid option '%%*' to 'format'")
			}
			// Each conversion writes at most 99 bytes of padding plus its
			// argument (a number: at most a few hundred digits).
			size += 99 + 320
			if arg := L.Get(verbs + 1); arg.Type() == lua.LTString {
				size += len(arg.(lua.LString))
			}
		}
		checkLen(L, "string.format", size)
		top := L.GetTop()
		L.Push(orig)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, 1)
		if out, ok := L.Get(-1).(lua.LString); ok {
			checkLen(L, "string.format", len(out))
		}
		return 1
	}
}

// tableConcat is table.concat with the result's length known, and capped,
// before it is built.
func tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	if j-i >= maxLuaString {
		checkLen(L, "table.concat", j-i+1)
	}
	work := &workMeter{L: L}
	parts := make([]string, 0, min(j-i+1, 1024))
	size := 0
	for k := i; k <= j; k++ {
		v := t.RawGetInt(k)
		if !lua.LVCanConvToString(v) {
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		s := lua.LVAsString(v)
		size += len(s)
		if k < j {
			size += len(sep)
		}
		checkLen(L, "table.concat", size)
		work.charge(1)
		parts = append(parts, s)
	}
	L.Push(lua.LString(strings.Join(parts, sep)))
	return 1
}

// tableSort is table.sort with the context checked while it compares: a
// table of a million numbers sorts in Go for a good part of a second.
func tableSort(L *lua.LState) int {
	t := L.CheckTable(1)
	var cmp *lua.LFunction
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		cmp = L.CheckFunction(2)
	}
	n := t.Len()
	vals := make([]lua.LValue, n)
	for i := range vals {
		vals[i] = t.RawGetInt(i + 1)
	}
	work := &workMeter{L: L}
	sort.Sort(&luaSorter{L: L, vals: vals, cmp: cmp, work: work})
	for i, v := range vals {
		t.RawSetInt(i+1, v)
	}
	return 0
}

type luaSorter struct {
	L    *lua.LState
	vals []lua.LValue
	cmp  *lua.LFunction
	work *workMeter
}

func (s *luaSorter) Len() int      { return len(s.vals) }
func (s *luaSorter) Swap(i, j int) { s.vals[i], s.vals[j] = s.vals[j], s.vals[i] }
func (s *luaSorter) Less(i, j int) bool {
	s.work.charge(1)
	a, b := s.vals[i], s.vals[j]
	if s.cmp == nil {
		return lessThan(s.L, a, b)
	}
	s.L.Push(s.cmp)
	s.L.Push(a)
	s.L.Push(b)
	s.L.Call(2, 1)
	ret := s.L.Get(-1)
	s.L.Pop(1)
	return lua.LVAsBool(ret)
}

// lessThan is Lua's < for numbers and strings; anything else is an error,
// as in Lua (no metatables in the sandbox).
func lessThan(L *lua.LState, a, b lua.LValue) bool {
	switch x := a.(type) {
	case lua.LNumber:
		if y, ok := b.(lua.LNumber); ok {
			return x < y
		}
	case lua.LString:
		if y, ok := b.(lua.LString); ok {
			return x < y
		}
	}
	L.RaiseError("attempt to compare %s with %s", a.Type(), b.Type())
	return false
}

// concatName is the global the loader calls in place of the `..` operator
// (see rewriteConcat). It is not a Lua name, so no script can write it as
// an identifier.
const concatName = "(concat)"

// luaConcat is `..` over all its operands (a chain a..b..c is one call),
// with the result capped at maxLuaString: the VM's own concatenation is
// one instruction, so s = s .. s doubled a string to gigabytes between two
// looks at the context.
func luaConcat(L *lua.LState) int {
	top := L.GetTop()
	size := 0
	for i := 1; i <= top; i++ {
		v := L.Get(i)
		if !lua.LVCanConvToString(v) {
			L.RaiseError("attempt to concatenate a %s value", v.Type())
		}
		if s, ok := v.(lua.LString); ok {
			size += len(s)
		} else {
			size += 24 // a number
		}
	}
	checkLen(L, "..", size)
	var b strings.Builder
	b.Grow(size)
	for i := 1; i <= top; i++ {
		b.WriteString(lua.LVAsString(L.Get(i)))
	}
	L.Push(lua.LString(b.String()))
	return 1
}
