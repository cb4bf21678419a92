package felica_test

import (
	"testing"

	"github.com/tes-project/tes/felica"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		st      felica.Status
		ok      bool
		text    string
		meaning string
	}{
		{felica.Status{}, true, "00 00 ok", "success"},
		{felica.Status{SF1: 0x01, SF2: 0xA6}, false, "01 A6 no-such-service (element 1)", "no such service"},
		{felica.Status{SF1: 0xFF, SF2: 0xA1}, false, "FF A1 service-count", "number of services out of range"},
		{felica.Status{SF1: 0x02, SF2: 0xA8}, false, "02 A8 block-number (element 2)", "block number past the service's blocks"},
		{felica.Status{SF1: 0x01, SF2: 0xA5}, false, "01 A5 access-denied (element 1)", "access not allowed (key needed, or read-only)"},
		{felica.Status{SF1: 0x00, SF2: 0x71}, true, "00 71 rewrite-warning", "rewrite count warning, the write was done"},
		{felica.Status{SF1: 0xFF, SF2: 0x5A}, false, "FF 5A sf2-5A", "unknown status flag"},
	}
	for _, tc := range tests {
		if tc.st.OK() != tc.ok || tc.st.String() != tc.text || felica.SF2Meaning(tc.st.SF2) != tc.meaning {
			t.Errorf("%#v: OK %v String %q meaning %q; want %v %q %q", tc.st, tc.st.OK(), tc.st.String(), felica.SF2Meaning(tc.st.SF2), tc.ok, tc.text, tc.meaning)
		}
		if (tc.st.Err() == nil) != tc.ok {
			t.Errorf("%v: Err() = %v", tc.st, tc.st.Err())
		}
	}
	for _, sf2 := range []byte{0x01, 0x02, 0x70, 0xA2, 0xA3, 0xA4, 0xA7, 0xAF} {
		if felica.SF2Meaning(sf2) == "unknown status flag" {
			t.Errorf("SF2 %02X has no meaning", sf2)
		}
	}
}
