package scripts

// The Lua 5.1 pattern matcher, ported from lstrlib.c of Lua 5.1.5
// (Copyright (C) 1994-2012 Lua.org, PUC-Rio; MIT license, see
// https://www.lua.org/license.html) instead of gopher-lua's pm package,
// because pm cannot be stopped: it backtracks with one Go recursion per
// repetition (a stack as deep as the subject), builds every match of
// gmatch and gsub before the first is used, and never looks at the step's
// context, so string.find(s8192, ".-.-.-.-.-.-.-.-.-.-x") ran for tens of
// seconds after its step was cancelled. This port keeps the 5.1 semantics
// (including %f and %b), recurses only as deep as the pattern nests (at
// most maxMatchDepth), and charges every step of work to a workMeter that
// raises a Lua error once the step's context is done.

import (
	lua "github.com/yuin/gopher-lua"
)

const (
	// luaMaxCaptures is Lua 5.1's LUA_MAXCAPTURES.
	luaMaxCaptures = 32
	capUnfinished  = -1
	capPosition    = -2
	// maxMatchDepth bounds the matcher's recursion (Lua 5.2's
	// MAXCCALLS): it grows with the pattern's items and captures, never
	// with the subject's length.
	maxMatchDepth = 200
	// patternSpecials are the characters that make string.find use the
	// matcher instead of a plain search.
	patternSpecials = "^$*+?.([%-"
)

// matchState is one match attempt of a pattern against a subject.
type matchState struct {
	L       *lua.LState
	src     string
	pat     string
	level   int
	depth   int
	capture [luaMaxCaptures]struct{ init, len int }
	work    *workMeter
}

// at is the pattern byte at i, 0 past its end (C's terminating NUL).
func (ms *matchState) at(i int) byte {
	if i < len(ms.pat) {
		return ms.pat[i]
	}
	return 0
}

// srcAt is the subject byte at i, 0 past its end.
func (ms *matchState) srcAt(i int) byte {
	if i >= 0 && i < len(ms.src) {
		return ms.src[i]
	}
	return 0
}

func (ms *matchState) classEnd(p int) int {
	c := ms.at(p)
	p++
	switch c {
	case '%':
		if p >= len(ms.pat) {
			ms.L.RaiseError("malformed pattern (ends with '%%')")
		}
		return p + 1
	case '[':
		if ms.at(p) == '^' {
			p++
		}
		for { // look for a ']'
			if p >= len(ms.pat) {
				ms.L.RaiseError("malformed pattern (missing ']')")
			}
			c := ms.pat[p]
			p++
			if c == '%' && p < len(ms.pat) {
				p++ // skip escapes (e.g. '%]')
			}
			if ms.at(p) == ']' {
				break
			}
		}
		return p + 1
	default:
		return p
	}
}

func isAlpha(c byte) bool  { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool  { return 'A' <= c && c <= 'Z' }
func isSpace(c byte) bool  { return c == ' ' || '\t' <= c && c <= '\r' }
func isCntrl(c byte) bool  { return c < 0x20 || c == 0x7f }
func isPunct(c byte) bool  { return c > 0x20 && c < 0x7f && !isAlpha(c) && !isDigit(c) }
func isXDigit(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// matchClass tells whether c is in the class %cl (the C locale's ctype).
func matchClass(c, cl byte) bool {
	var res bool
	lower := cl
	if isUpper(cl) {
		lower = cl + ('a' - 'A')
	}
	switch lower {
	case 'a':
		res = isAlpha(c)
	case 'c':
		res = isCntrl(c)
	case 'd':
		res = isDigit(c)
	case 'l':
		res = isLower(c)
	case 'p':
		res = isPunct(c)
	case 's':
		res = isSpace(c)
	case 'u':
		res = isUpper(c)
	case 'w':
		res = isAlpha(c) || isDigit(c)
	case 'x':
		res = isXDigit(c)
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if isLower(cl) {
		return res
	}
	return !res
}

// matchBracketClass tells whether c is in the set [..] from p to ec (the
// closing ']').
func (ms *matchState) matchBracketClass(c byte, p, ec int) bool {
	sig := true
	if ms.at(p+1) == '^' {
		sig = false
		p++
	}
	for p++; p < ec; p++ {
		switch {
		case ms.at(p) == '%':
			p++
			if matchClass(c, ms.at(p)) {
				return sig
			}
		case ms.at(p+1) == '-' && p+2 < ec:
			p += 2
			if ms.at(p-2) <= c && c <= ms.at(p) {
				return sig
			}
		case ms.at(p) == c:
			return sig
		}
	}
	return !sig
}

func (ms *matchState) singleMatch(s, p, ep int) bool {
	if s >= len(ms.src) {
		return false
	}
	c := ms.src[s]
	switch ms.at(p) {
	case '.':
		return true
	case '%':
		return matchClass(c, ms.at(p+1))
	case '[':
		return ms.matchBracketClass(c, p, ep-1)
	default:
		return ms.at(p) == c
	}
}

func (ms *matchState) matchBalance(s, p int) int {
	if p+1 >= len(ms.pat) {
		ms.L.RaiseError("malformed pattern (missing arguments to '%%b')")
	}
	if s >= len(ms.src) || ms.src[s] != ms.pat[p] {
		return -1
	}
	b, e, cont := ms.pat[p], ms.pat[p+1], 1
	for s++; s < len(ms.src); s++ {
		ms.work.charge(1)
		switch ms.src[s] {
		case e:
			if cont--; cont == 0 {
				return s + 1
			}
		case b:
			cont++
		}
	}
	return -1
}

func (ms *matchState) maxExpand(s, p, ep int) int {
	i := 0
	for ms.singleMatch(s+i, p, ep) {
		i++
		ms.work.charge(1)
	}
	for ; i >= 0; i-- { // try with the most repetitions first
		if res := ms.match(s+i, ep+1); res != -1 {
			return res
		}
	}
	return -1
}

func (ms *matchState) minExpand(s, p, ep int) int {
	for {
		if res := ms.match(s, ep+1); res != -1 {
			return res
		}
		if !ms.singleMatch(s, p, ep) {
			return -1
		}
		s++ // try with one more repetition
	}
}

func (ms *matchState) startCapture(s, p, what int) int {
	if ms.level >= luaMaxCaptures {
		ms.L.RaiseError("too many captures")
	}
	ms.capture[ms.level].init = s
	ms.capture[ms.level].len = what
	ms.level++
	res := ms.match(s, p)
	if res == -1 {
		ms.level-- // undo the capture
	}
	return res
}

func (ms *matchState) endCapture(s, p int) int {
	l := ms.captureToClose()
	ms.capture[l].len = s - ms.capture[l].init
	res := ms.match(s, p)
	if res == -1 {
		ms.capture[l].len = capUnfinished
	}
	return res
}

func (ms *matchState) captureToClose() int {
	for level := ms.level - 1; level >= 0; level-- {
		if ms.capture[level].len == capUnfinished {
			return level
		}
	}
	ms.L.RaiseError("invalid pattern capture")
	return 0
}

func (ms *matchState) matchCapture(s int, l byte) int {
	i := int(l) - '1'
	if i < 0 || i >= ms.level || ms.capture[i].len == capUnfinished {
		ms.L.RaiseError("invalid capture index")
	}
	n := ms.capture[i].len
	if n < 0 {
		n = 0 // a position capture stands for the empty string
	}
	ms.work.charge(n)
	init := ms.capture[i].init
	if len(ms.src)-s >= n && ms.src[init:init+n] == ms.src[s:s+n] {
		return s + n
	}
	return -1
}

// match returns the end of the match of pat[p:] at src[s:], or -1.
func (ms *matchState) match(s, p int) int {
	ms.depth++
	if ms.depth > maxMatchDepth {
		ms.L.RaiseError("pattern too complex")
	}
	defer func() { ms.depth-- }()
	for {
		ms.work.charge(1)
		if p >= len(ms.pat) { // end of pattern
			return s
		}
		switch ms.pat[p] {
		case '(':
			if ms.at(p+1) == ')' {
				return ms.startCapture(s, p+2, capPosition)
			}
			return ms.startCapture(s, p+1, capUnfinished)
		case ')':
			return ms.endCapture(s, p+1)
		case '$':
			if p+1 == len(ms.pat) {
				if s == len(ms.src) {
					return s
				}
				return -1
			}
		case '%':
			switch next := ms.at(p + 1); {
			case next == 'b':
				if s = ms.matchBalance(s, p+2); s == -1 {
					return -1
				}
				p += 4
				continue
			case next == 'f':
				p += 2
				if ms.at(p) != '[' {
					ms.L.RaiseError("missing '[' after '%%f' in pattern")
				}
				ep := ms.classEnd(p)
				if ms.matchBracketClass(ms.srcAt(s-1), p, ep-1) || !ms.matchBracketClass(ms.srcAt(s), p, ep-1) {
					return -1
				}
				p = ep
				continue
			case isDigit(next):
				if s = ms.matchCapture(s, next); s == -1 {
					return -1
				}
				p += 2
				continue
			}
		}
		// A single character class, maybe followed by a repetition.
		ep := ms.classEnd(p)
		m := ms.singleMatch(s, p, ep)
		switch ms.at(ep) {
		case '?':
			if m {
				if res := ms.match(s+1, ep+1); res != -1 {
					return res
				}
			}
			p = ep + 1
		case '*':
			return ms.maxExpand(s, p, ep)
		case '+':
			if !m {
				return -1
			}
			return ms.maxExpand(s+1, p, ep)
		case '-':
			return ms.minExpand(s, p, ep)
		default:
			if !m {
				return -1
			}
			s++
			p = ep
		}
	}
}

// captureValue is capture i of the last match src[s:e] (the whole match
// when the pattern has no captures and i is 0).
func (ms *matchState) captureValue(i, s, e int) lua.LValue {
	if i >= ms.level {
		if i != 0 {
			ms.L.RaiseError("invalid capture index")
		}
		return lua.LString(ms.src[s:e])
	}
	c := ms.capture[i]
	switch c.len {
	case capUnfinished:
		ms.L.RaiseError("unfinished capture")
	case capPosition:
		return lua.LNumber(c.init + 1)
	}
	return lua.LString(ms.src[c.init : c.init+c.len])
}

// pushCaptures pushes the captures of the match src[s:e], or the whole
// match when the pattern has none and wholeIfNone; it returns how many.
func (ms *matchState) pushCaptures(s, e int, wholeIfNone bool) int {
	n := ms.level
	if n == 0 && wholeIfNone {
		n = 1
	}
	for i := range n {
		ms.L.Push(ms.captureValue(i, s, e))
	}
	return n
}
