package felica_test

import (
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		frame string
		f     felica.Framing
		want  string
	}{
		{"0600FFFF0100", felica.WithLEN, "Polling system=FFFF request=01 timeslot=00"},
		{"1206 I 01 0B00 02 8000 8001", felica.WithLEN,
			"Read Without Encryption IDm=0102030405060708 services=[000B random RO no-key] blocks=[0:0 0:1]"},
		{"06 I 02 0B00 4B00 01 B100", felica.WithoutLEN,
			"Read Without Encryption IDm=0102030405060708 services=[000B random RO no-key, 004B random RO no-key] blocks=[1:0/a3]"},
		{"2D07 I 0000 02" + readData, felica.WithLEN,
			"Read Without Encryption response IDm=0102030405060708 status=00 00 ok count=2 data=[10010100010000000000000000100023 D1020B5370D10107550361622E636F6D]"},
		{"0C07 I 01A6", felica.WithLEN, "Read Without Encryption response IDm=0102030405060708 status=01 A6 no-such-service (element 1)"},
		{"2008 I 01 0900 01 8000 00112233445566778899AABBCCDDEEFF", felica.WithLEN,
			"Write Without Encryption IDm=0102030405060708 services=[0009 random RW no-key] blocks=[0:0] data=[00112233445566778899AABBCCDDEEFF]"},
		{"0C09 I 01A1", felica.WithLEN, "Write Without Encryption response IDm=0102030405060708 status=01 A1 service-count (element 1)"},
		{"0E0B I 0000 FEFF", felica.WithLEN, "Search Service Code response IDm=0102030405060708 area=0000..FFFE"},
		{"0C0B I FFFF", felica.WithLEN, "Search Service Code response IDm=0102030405060708 end-of-list"},
		{"0F0D I 02 0000 12FC", felica.WithLEN, "Request System Code response IDm=0102030405060708 systems=[0000 12FC]"},
		{"0C3F 01020304050607FF 0102", felica.WithLEN, "Reset Mode response IDm=01020304050607FF status=01 02 cashback-exceeded (element 1)"},
		{"0D09 I 0000", felica.WithLEN, "unreadable frame 0D0901020304050607080000: felica: unframe (with LEN): LEN byte does not match the frame length: LEN says 13, frame has 12 bytes"},
		{"0D07 I 0000", felica.WithoutLEN, "malformed Request System Code response 0D0701020304050607080000: felica: parse Request System Code response at byte 10: count does not match the data: 8 system codes need 16 bytes, have 2"},
		{"0320FF", felica.WithLEN, "unknown code 0x20 0320FF"},
		{"", felica.WithoutLEN, "unreadable frame : felica: unframe (without LEN): empty frame: no code byte"},
	}
	for _, tc := range tests {
		if got := felica.Describe(unhex(t, tc.frame), tc.f); got != tc.want {
			t.Errorf("Describe(%s)\n got %s\nwant %s", tc.frame, got, tc.want)
		}
	}
}

// TestDescribeEveryVector: each FELICA.md frame describes as its own name,
// never as malformed.
func TestDescribeEveryVector(t *testing.T) {
	for _, v := range vectors(t) {
		code, _ := felica.PeekCode(v.frame, felica.WithLEN)
		got := felica.Describe(v.frame, felica.WithLEN)
		if !strings.HasPrefix(got, code.String()+" ") && got != code.String() {
			t.Errorf("%s: %s", v.name, got)
		}
	}
}
