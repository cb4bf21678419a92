package felica_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
)

// TestSecureFrameErrors: malformed secure frames fail with the sentinel and
// offset, as the other parsers do.
func TestSecureFrameErrors(t *testing.T) {
	mac := "0011223344556677"
	tests := []struct {
		name   string
		frame  string
		f      felica.Framing
		parse  parseFunc
		want   error
		offset int
	}{
		{"read v2 LEN wrong", "1244 0100 A60B00 " + mac, felica.WithLEN, pc(felica.ParseReadV2Command), felica.ErrBadLength, -1},
		{"read v2 no TN", "44 01", felica.WithoutLEN, pc(felica.ParseReadV2Command), felica.ErrTruncated, 1},
		{"read v2 MAC only", "LL44 0100 " + mac, felica.WithLEN, pc(felica.ParseReadV2Command), felica.ErrTruncated, 3},
		{"read v2 payload of 2", "LL44 0100 A60B " + mac, felica.WithLEN, pc(felica.ParseReadV2Command), felica.ErrTruncated, 3},
		{"read v2 as a response", "LL44 0100 A60B00 " + mac, felica.WithLEN, pc(felica.ParseReadV2Response), felica.ErrUnexpectedCode, 0},
		{"write v2 without data", "LL46 0300 0102030405 " + mac, felica.WithLEN, pc(felica.ParseWriteV2Command), felica.ErrTruncated, 3},
		{"write v2 response long", "LL47 0400 000000 " + mac, felica.WithLEN, pc(felica.ParseWriteV2Response), felica.ErrTrailingData, 13},
		{"write v2 response short", "LL47 0400 00 " + mac, felica.WithLEN, pc(felica.ParseWriteV2Response), felica.ErrTruncated, 3},
		{"read (DES) one block", "LL14 " + mac, felica.WithLEN, pc(felica.ParseReadDESCommand), felica.ErrMalformed, 1},
		{"read (DES) odd length", "LL14 " + mac + mac + "00", felica.WithLEN, pc(felica.ParseReadDESCommand), felica.ErrMalformed, 1},
		{"write (DES) response empty", "17", felica.WithoutLEN, pc(felica.ParseWriteDESResponse), felica.ErrMalformed, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.parse(unhex(t, tc.frame), tc.f)
			var fe *felica.FrameError
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Offset != tc.offset {
				t.Fatalf("err = %v, want %v at %d", err, tc.want, tc.offset)
			}
		})
	}
}

// TestSecureFrameBuildLimits: builders refuse payloads no frame carries and
// leave dst as it was.
func TestSecureFrameBuildLimits(t *testing.T) {
	tests := []struct {
		name string
		v    appender
		want error
	}{
		{"read v2 empty", felica.ReadV2Command{}, felica.ErrMalformed},
		{"read v2 too long", felica.ReadV2Command{Payload: make([]byte, felica.MaxSecureV2Payload+1)}, felica.ErrMalformed},
		{"write v2 no data", felica.WriteV2Command{Payload: make([]byte, 3)}, felica.ErrMalformed},
		{"read v2 response empty", felica.ReadV2Response{}, felica.ErrMalformed},
		{"read (DES) one block", felica.ReadDESCommand{Encrypted: make([]byte, 8)}, felica.ErrMalformed},
		{"write (DES) 17 bytes", felica.WriteDESCommand{Encrypted: make([]byte, 17)}, felica.ErrMalformed},
		{"read (DES) response too long", felica.ReadDESResponse{Encrypted: make([]byte, 256)}, felica.ErrFrameTooLong},
	}
	for _, tc := range tests {
		got, err := tc.v.Append([]byte("keep"), felica.WithLEN)
		if !errors.Is(err, tc.want) || string(got) != "keep" {
			t.Errorf("%s: %q, %v; want keep, %v", tc.name, got, err, tc.want)
		}
	}
}

// TestDescribeSecure: traces show the clear parts (names, TN, lengths) and the
// ciphertext, never a decrypted payload.
func TestDescribeSecure(t *testing.T) {
	tests := []struct {
		frame string
		f     felica.Framing
		want  string
	}{
		{"11440100A60B00F83FC477FB126B837F16", felica.WithLEN,
			"Read v2 transaction=0001 encrypted=5 bytes A60B00F83F mac=C477FB126B837F16"},
		{"4704008875B92F88DC7C05F7D9", felica.WithoutLEN,
			"Write v2 response transaction=0004 encrypted=2 bytes 8875 mac=B92F88DC7C05F7D9"},
		{"1C430000F055ACF8FEFC10F16DA44E9BE174E20B99BE0C915CEC9547", felica.WithLEN,
			"Authentication2 v2 response transaction=0000 encrypted=16 bytes F055ACF8FEFC10F16DA44E9BE174E20B mac=99BE0C915CEC9547"},
		{"1A1444848E2B9A6262A8DE8FF68CB3A23B734B34E4D5D8EE5E69", felica.WithLEN,
			"Read (DES) encrypted=24 bytes 44848E2B9A6262A8DE8FF68CB3A23B734B34E4D5D8EE5E69"},
		{"20400102030405060708000200100810CCB23F9A3903C56D412AB62C7ABEE49D", felica.WithLEN,
			"Authentication1 v2 IDm=0102030405060708 op=00 nodes=[1000 area, 1008 random RW key] challenge1A=CCB23F9A3903C56D412AB62C7ABEE49D"},
		{"0F44050097ADA7C6CD44F12390F43F", felica.WithLEN,
			"Read v2 transaction=0005 encrypted=3 bytes 97ADA7 mac=C6CD44F12390F43F"},
		{"0E44050097ADC6CD44F12390F43F", felica.WithLEN,
			"malformed Read v2 0E44050097ADC6CD44F12390F43F: felica: parse Read v2 at byte 3: truncated frame: 10 bytes of encrypted payload and MAC, want 3..243 and 8"},
	}
	for _, tc := range tests {
		if got := felica.Describe(unhex(t, tc.frame), tc.f); got != tc.want {
			t.Errorf("Describe(%s)\n got %s\nwant %s", tc.frame, got, tc.want)
		}
	}
}

// TestSecureCodes: the new codes have names and pair up as command and response.
func TestSecureCodes(t *testing.T) {
	for _, c := range []felica.Code{felica.CodeReadV2, felica.CodeWriteV2, felica.CodeReadDES, felica.CodeWriteDES} {
		if !c.Known() || c.IsResponse() || !c.Response().IsResponse() || !strings.HasSuffix(c.Response().String(), " response") {
			t.Errorf("%s: Known %v IsResponse %v response %s", c, c.Known(), c.IsResponse(), c.Response())
		}
	}
}
