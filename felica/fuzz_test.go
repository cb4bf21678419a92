package felica_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tes-project/tes/felica"
)

// frameIDm takes the IDm at bytes 1..9 of the packet, so that a fuzzed
// response parse gets past the IDm check and into the fields after it.
func frameIDm(frame []byte, f felica.Framing) felica.IDm {
	var id felica.IDm
	if p, err := f.Unframe(frame); err == nil && len(p) > len(id) {
		copy(id[:], p[1:])
	}
	return id
}

func withIDm[T appender](fn func([]byte, felica.Framing, felica.IDm) (T, error)) func([]byte, felica.Framing) (T, error) {
	return func(b []byte, f felica.Framing) (T, error) { return fn(b, f, frameIDm(b, f)) }
}

// fuzzParser checks that parse never panics, fails only with a *FrameError,
// and that whatever it accepts and can build again re-encodes stably:
// build(parse(build(parse(x)))) == build(parse(x)). Describe must not panic either.
func fuzzParser[T appender](f *testing.F, parse func([]byte, felica.Framing) (T, error)) {
	for _, v := range vectors(f) {
		f.Add(v.frame, false)
		f.Add(v.frame[1:], true)
	}
	f.Fuzz(func(t *testing.T, frame []byte, withoutLEN bool) {
		fr := felica.WithLEN
		if withoutLEN {
			fr = felica.WithoutLEN
		}
		_ = felica.Describe(frame, fr)
		v, err := parse(frame, fr)
		if err != nil {
			var fe *felica.FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FrameError", err, err)
			}
			return
		}
		once, err := v.Append(nil, fr)
		if err != nil {
			return // parsed but beyond what a builder allows (counts the card judges)
		}
		again, err := parse(once, fr)
		if err != nil {
			t.Fatalf("re-encoded %X of %X does not parse: %v", once, frame, err)
		}
		twice, err := again.Append(nil, fr)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("unstable encoding: %X then %X (%v)", once, twice, err)
		}
	})
}

func FuzzParsePollingCommand(f *testing.F)  { fuzzParser(f, felica.ParsePollingCommand) }
func FuzzParsePollingResponse(f *testing.F) { fuzzParser(f, felica.ParsePollingResponse) }
func FuzzParseRequestServiceCommand(f *testing.F) {
	fuzzParser(f, felica.ParseRequestServiceCommand)
}
func FuzzParseRequestServiceResponse(f *testing.F) {
	fuzzParser(f, withIDm(felica.ParseRequestServiceResponse))
}
func FuzzParseRequestServiceV2Command(f *testing.F) {
	fuzzParser(f, felica.ParseRequestServiceV2Command)
}
func FuzzParseRequestServiceV2Response(f *testing.F) {
	fuzzParser(f, withIDm(felica.ParseRequestServiceV2Response))
}
func FuzzParseRequestResponseCommand(f *testing.F) {
	fuzzParser(f, felica.ParseRequestResponseCommand)
}
func FuzzParseRequestResponseResponse(f *testing.F) {
	fuzzParser(f, withIDm(felica.ParseRequestResponseResponse))
}
func FuzzParseReadCommand(f *testing.F)   { fuzzParser(f, felica.ParseReadCommand) }
func FuzzParseReadResponse(f *testing.F)  { fuzzParser(f, withIDm(felica.ParseReadResponse)) }
func FuzzParseWriteCommand(f *testing.F)  { fuzzParser(f, felica.ParseWriteCommand) }
func FuzzParseWriteResponse(f *testing.F) { fuzzParser(f, withIDm(felica.ParseWriteResponse)) }
func FuzzParseSearchServiceCodeCommand(f *testing.F) {
	fuzzParser(f, felica.ParseSearchServiceCodeCommand)
}
func FuzzParseSearchServiceCodeResponse(f *testing.F) {
	fuzzParser(f, withIDm(felica.ParseSearchServiceCodeResponse))
}
func FuzzParseRequestSystemCodeCommand(f *testing.F) {
	fuzzParser(f, felica.ParseRequestSystemCodeCommand)
}
func FuzzParseRequestSystemCodeResponse(f *testing.F) {
	fuzzParser(f, withIDm(felica.ParseRequestSystemCodeResponse))
}
func FuzzParseAuth1Command(f *testing.F)    { fuzzParser(f, felica.ParseAuth1Command) }
func FuzzParseAuth1Response(f *testing.F)   { fuzzParser(f, withIDm(felica.ParseAuth1Response)) }
func FuzzParseAuth2Command(f *testing.F)    { fuzzParser(f, felica.ParseAuth2Command) }
func FuzzParseAuth2Response(f *testing.F)   { fuzzParser(f, felica.ParseAuth2Response) }
func FuzzParseAuth1V2Command(f *testing.F)  { fuzzParser(f, felica.ParseAuth1V2Command) }
func FuzzParseAuth1V2Response(f *testing.F) { fuzzParser(f, withIDm(felica.ParseAuth1V2Response)) }
func FuzzParseAuth2V2Command(f *testing.F)  { fuzzParser(f, felica.ParseAuth2V2Command) }
func FuzzParseAuth2V2Response(f *testing.F) { fuzzParser(f, felica.ParseAuth2V2Response) }
func FuzzParseRequestSpecVersionCommand(f *testing.F) {
	fuzzParser(f, felica.ParseRequestSpecVersionCommand)
}
func FuzzParseRequestSpecVersionResponse(f *testing.F) {
	fuzzParser(f, withIDm(felica.ParseRequestSpecVersionResponse))
}
func FuzzParseResetModeCommand(f *testing.F)  { fuzzParser(f, felica.ParseResetModeCommand) }
func FuzzParseResetModeResponse(f *testing.F) { fuzzParser(f, withIDm(felica.ParseResetModeResponse)) }

// FuzzDescribe: Describe answers every input with one line and never panics.
func FuzzDescribe(f *testing.F) {
	for _, v := range vectors(f) {
		f.Add(v.frame, false)
	}
	f.Fuzz(func(t *testing.T, frame []byte, withoutLEN bool) {
		fr := felica.WithLEN
		if withoutLEN {
			fr = felica.WithoutLEN
		}
		if s := felica.Describe(frame, fr); s == "" || bytes.ContainsRune([]byte(s), '\n') {
			t.Fatalf("Describe(%X) = %q", frame, s)
		}
	})
}

func FuzzParseReadV2Command(f *testing.F)    { fuzzParser(f, felica.ParseReadV2Command) }
func FuzzParseReadV2Response(f *testing.F)   { fuzzParser(f, felica.ParseReadV2Response) }
func FuzzParseWriteV2Command(f *testing.F)   { fuzzParser(f, felica.ParseWriteV2Command) }
func FuzzParseWriteV2Response(f *testing.F)  { fuzzParser(f, felica.ParseWriteV2Response) }
func FuzzParseReadDESCommand(f *testing.F)   { fuzzParser(f, felica.ParseReadDESCommand) }
func FuzzParseReadDESResponse(f *testing.F)  { fuzzParser(f, felica.ParseReadDESResponse) }
func FuzzParseWriteDESCommand(f *testing.F)  { fuzzParser(f, felica.ParseWriteDESCommand) }
func FuzzParseWriteDESResponse(f *testing.F) { fuzzParser(f, felica.ParseWriteDESResponse) }

// fuzzPlain is fuzzParser for the plaintext payloads of secure frames: no
// panic, only *FrameError, and a stable re-encoding of what parses.
func fuzzPlain[T plainAppender](f *testing.F, parse func([]byte, bool) (T, error)) {
	for _, s := range []string{"02 8100 8101", "01 8000 0505050505", "0000 01 E8030000000000000000000000000000",
		"01 8101 0102030405060708090A0B0C0D0E0F10", "0000", "01A8", "0000 060606060606"} {
		f.Add(unhex(f, s), false)
		f.Add(unhex(f, s), true)
	}
	f.Fuzz(func(t *testing.T, p []byte, padded bool) {
		v, err := parse(p, padded)
		if err != nil {
			var fe *felica.FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FrameError", err, err)
			}
			return
		}
		once, err := v.AppendPlain(nil)
		if err != nil {
			return // parsed but beyond what a builder allows
		}
		again, err := parse(once, false)
		if err != nil {
			t.Fatalf("re-encoded %X of %X does not parse: %v", once, p, err)
		}
		twice, err := again.AppendPlain(nil)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("unstable encoding: %X then %X (%v)", once, twice, err)
		}
	})
}

func FuzzParseSecureReadRequest(f *testing.F)  { fuzzPlain(f, felica.ParseSecureReadRequest) }
func FuzzParseSecureReadReply(f *testing.F)    { fuzzPlain(f, felica.ParseSecureReadReply) }
func FuzzParseSecureWriteRequest(f *testing.F) { fuzzPlain(f, felica.ParseSecureWriteRequest) }
func FuzzParseSecureWriteReply(f *testing.F)   { fuzzPlain(f, felica.ParseSecureWriteReply) }
