package felica_test

import (
	"errors"
	"testing"

	"github.com/tes-project/tes/felica"
)

// TestParseErrors feeds malformed frames to the parsers and checks the
// sentinel error and the offset reported, in the order bbolt validates a
// header: framing, code, IDm, counts, data.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		frame  string
		f      felica.Framing
		parse  parseFunc
		want   error
		offset int // -1: no position
	}{
		{"empty", "", felica.WithLEN, pr(felica.ParseReadResponse), felica.ErrEmptyFrame, -1},
		{"LEN only", "01", felica.WithLEN, pr(felica.ParseReadResponse), felica.ErrEmptyFrame, -1},
		{"empty without LEN", "", felica.WithoutLEN, pr(felica.ParseReadResponse), felica.ErrEmptyFrame, -1},
		{"LEN too big", "0D09 I 0000", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrBadLength, -1},
		{"LEN too small", "0B09 I 0000", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrBadLength, -1},
		{"LEN given to a WithoutLEN parse", "0C09 I 0000", felica.WithoutLEN, pr(felica.ParseWriteResponse), felica.ErrUnexpectedCode, 0},
		{"wrong response code", "0C0B I 0000", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrUnexpectedCode, 0},
		{"command where response expected", "0A04 I", felica.WithLEN, pr(felica.ParseRequestResponseResponse), felica.ErrUnexpectedCode, 0},
		{"IDm of another card", "0C09 0909090909090909 0000", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrIDmMismatch, 1},
		{"IDm cut short", "0609 01020304", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrTruncated, 1},
		{"status missing", "0A09 I", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrTruncated, 9},
		{"write response overlong", "0D09 I 000000", felica.WithLEN, pr(felica.ParseWriteResponse), felica.ErrTrailingData, 11},
		{"read error response with a count", "0D07 I 01A6 00", felica.WithLEN, pr(felica.ParseReadResponse), felica.ErrTrailingData, 11},
		{"read response count missing", "0C07 I 0000", felica.WithLEN, pr(felica.ParseReadResponse), felica.ErrTruncated, 11},
		{"read response data short", "1D07 I 0000 02 00112233445566778899AABBCCDDEEFF", felica.WithLEN, pr(felica.ParseReadResponse), felica.ErrCountMismatch, 12},
		{"read response data long", "1E07 I 0000 01 00112233445566778899AABBCCDDEEFF 00", felica.WithLEN, pr(felica.ParseReadResponse), felica.ErrCountMismatch, 12},
		{"read command services cut", "LL06 I 02 0B00", felica.WithLEN, pc(felica.ParseReadCommand), felica.ErrTruncated, 10},
		{"read command block list cut", "LL06 I 01 0B00 02 8000", felica.WithLEN, pc(felica.ParseReadCommand), felica.ErrTruncated, 13},
		{"read command 3-byte element cut", "1206 I 01 0B00 02 8000 0001", felica.WithLEN, pc(felica.ParseReadCommand), felica.ErrTruncated, 16},
		{"read command trailing", "1306 I 01 0B00 02 8000 8001 00", felica.WithLEN, pc(felica.ParseReadCommand), felica.ErrTrailingData, 17},
		{"write command data short", "LL08 I 01 0900 02 8000 8001 00112233445566778899AABBCCDDEEFF", felica.WithLEN, pc(felica.ParseWriteCommand), felica.ErrCountMismatch, 17},
		{"write command no data", "LL08 I 01 0900 02 8000 8001", felica.WithLEN, pc(felica.ParseWriteCommand), felica.ErrCountMismatch, 17},
		{"request service versions short", "0D03 I 02 0100", felica.WithLEN, pr(felica.ParseRequestServiceResponse), felica.ErrCountMismatch, 10},
		{"request service v2 versions short", "1033 I 0000 4F 02 0100", felica.WithLEN, pr(felica.ParseRequestServiceV2Response), felica.ErrCountMismatch, 13},
		{"request service v2 odd tail", "LL33 I 0000 4F 02 0100 0100 01", felica.WithLEN, pr(felica.ParseRequestServiceV2Response), felica.ErrTrailingData, 17},
		{"system codes short", "0D0D I 02 0000", felica.WithLEN, pr(felica.ParseRequestSystemCodeResponse), felica.ErrCountMismatch, 10},
		{"search area without end", "0C0B I 0010", felica.WithLEN, pr(felica.ParseSearchServiceCodeResponse), felica.ErrTruncated, 11},
		{"search service with end", "0E0B I 0900 FFFF", felica.WithLEN, pr(felica.ParseSearchServiceCodeResponse), felica.ErrTrailingData, 11},
		{"reset mode reserved not zero", "0C3E I 0100", felica.WithLEN, pc(felica.ParseResetModeCommand), felica.ErrMalformed, 9},
		{"mode out of range", "0B05 I 04", felica.WithLEN, pr(felica.ParseRequestResponseResponse), felica.ErrMalformed, 9},
		{"spec options short", "LL3D I 0000 00 0085 02 0085", felica.WithLEN, pr(felica.ParseRequestSpecVersionResponse), felica.ErrCountMismatch, 15},
		{"auth1 challenge short", "1710 I 01 0010 01 0008 11223344556677", felica.WithLEN, pc(felica.ParseAuth1Command), felica.ErrTruncated, 15},
		{"auth2 response short", "2113" + "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEE", felica.WithLEN, pc(felica.ParseAuth2Response), felica.ErrTruncated, 1},
		{"polling response short PMm", "1101 I FFFFFFFFFFFFFF", felica.WithLEN, pc(felica.ParsePollingResponse), felica.ErrTruncated, 9},
		{"polling response odd request data", "1301 I FFFFFFFFFFFFFFFF 12", felica.WithLEN, pc(felica.ParsePollingResponse), felica.ErrTruncated, 17},
		{"polling command short", "0500FFFF00", felica.WithLEN, pc(felica.ParsePollingCommand), felica.ErrTruncated, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.parse(unhex(t, tc.frame), tc.f)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var fe *felica.FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err %T is not a *FrameError", err)
			}
			if fe.Offset != tc.offset {
				t.Errorf("offset = %d, want %d (%v)", fe.Offset, tc.offset, err)
			}
		})
	}
}

// TestParseTooLong: 256 bytes cannot be a frame in either framing.
func TestParseTooLong(t *testing.T) {
	long := make([]byte, 256)
	long[0] = 0xFF
	for _, f := range []felica.Framing{felica.WithLEN, felica.WithoutLEN} {
		if _, err := felica.PeekCode(long, f); !errors.Is(err, felica.ErrFrameTooLong) {
			t.Errorf("%s: err = %v, want ErrFrameTooLong", f, err)
		}
	}
	// Without LEN, 255 bytes plus the LEN iOS adds would be 256.
	if _, err := felica.PeekCode(long[:255], felica.WithoutLEN); !errors.Is(err, felica.ErrFrameTooLong) {
		t.Errorf("255 bytes without LEN: err = %v, want ErrFrameTooLong", err)
	}
}

func TestUnframe(t *testing.T) {
	frame := unhex(t, "0A04 I")
	p, err := felica.WithLEN.Unframe(frame)
	if err != nil || len(p) != 9 || p[0] != 0x04 {
		t.Fatalf("WithLEN.Unframe = %X, %v", p, err)
	}
	p, err = felica.WithoutLEN.Unframe(frame[1:])
	if err != nil || len(p) != 9 || &p[0] != &frame[1] {
		t.Fatalf("WithoutLEN.Unframe = %X, %v, want the input itself", p, err)
	}
	if _, err := felica.Framing(7).Unframe(frame); !errors.Is(err, felica.ErrBadParameter) {
		t.Errorf("unknown framing: err = %v", err)
	}
	code, err := felica.PeekCode(frame, felica.WithLEN)
	if err != nil || code != felica.CodeRequestResponse {
		t.Errorf("PeekCode = %v, %v", code, err)
	}
}

func TestStatusError(t *testing.T) {
	st := felica.Status{SF1: 0x01, SF2: felica.SF2NoSuchService}
	err := st.Err()
	if !errors.Is(err, felica.ErrStatus) {
		t.Fatalf("Status.Err() = %v, not ErrStatus", err)
	}
	var se *felica.StatusError
	if !errors.As(err, &se) || se.Status != st {
		t.Fatalf("errors.As: %v", err)
	}
	if (felica.Status{}).Err() != nil {
		t.Errorf("OK status gives an error")
	}
}
