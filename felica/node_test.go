package felica_test

import (
	"errors"
	"testing"

	"github.com/tes-project/tes/felica"
)

func TestNodeCodeAttributes(t *testing.T) {
	tests := []struct {
		code                  felica.NodeCode
		number                uint16
		attr                  uint8
		area, service, system bool
		kind                  felica.ServiceKind
		readOnly, keyed       bool
		label                 string
	}{
		{0x0009, 0, 0x09, false, true, false, felica.KindRandom, false, false, "0009 random RW no-key"},
		{0x000B, 0, 0x0B, false, true, false, felica.KindRandom, true, false, "000B random RO no-key"},
		{0x0008, 0, 0x08, false, true, false, felica.KindRandom, false, true, "0008 random RW key"},
		{0x0089, 2, 0x09, false, true, false, felica.KindRandom, false, false, "0089 random RW no-key"},
		{0x090D, 36, 0x0D, false, true, false, felica.KindCyclic, false, false, "090D cyclic RW no-key"},
		{0x090F, 36, 0x0F, false, true, false, felica.KindCyclic, true, false, "090F cyclic RO no-key"},
		{0x0010, 0, 0x10, false, true, false, felica.KindPurseDirect, false, true, "0010 purse-direct RW key"},
		{0x0013, 0, 0x13, false, true, false, felica.KindPurseCashback, false, false, "0013 purse-cashback RW no-key"},
		{0x0014, 0, 0x14, false, true, false, felica.KindPurseDecrement, false, true, "0014 purse-decrement RW key"},
		{0x0017, 0, 0x17, false, true, false, felica.KindPurseReadOnly, true, false, "0017 purse-readonly RO no-key"},
		{0x1000, 64, 0x00, true, false, false, felica.KindNone, false, false, "1000 area"},
		{0x13FF, 79, 0x3F, false, false, false, felica.KindNone, false, false, "13FF attribute 0x3F"},
		{0x0001, 0, 0x01, true, false, false, felica.KindNone, false, false, "0001 area"},
		{0xFFFF, 0x3FF, 0x3F, false, false, true, felica.KindNone, false, false, "FFFF system"},
		{0x0018, 0, 0x18, false, false, false, felica.KindNone, false, false, "0018 attribute 0x18"},
	}
	for _, tc := range tests {
		c := tc.code
		if c.Number() != tc.number || c.Attribute() != tc.attr {
			t.Errorf("%s: number %d attribute %02X, want %d %02X", c, c.Number(), c.Attribute(), tc.number, tc.attr)
		}
		if c.IsArea() != tc.area || c.IsService() != tc.service || c.IsSystem() != tc.system {
			t.Errorf("%s: area/service/system = %v/%v/%v, want %v/%v/%v", c, c.IsArea(), c.IsService(), c.IsSystem(), tc.area, tc.service, tc.system)
		}
		if c.Kind() != tc.kind || c.ReadOnly() != tc.readOnly || c.Keyed() != tc.keyed {
			t.Errorf("%s: kind %s ro %v keyed %v, want %s %v %v", c, c.Kind(), c.ReadOnly(), c.Keyed(), tc.kind, tc.readOnly, tc.keyed)
		}
		if c.Label() != tc.label {
			t.Errorf("%s: label %q, want %q", c, c.Label(), tc.label)
		}
	}
}

func TestNodeCodeText(t *testing.T) {
	if s := felica.NodeCode(0x0009).String(); s != "0009" {
		t.Errorf("String = %q", s)
	}
	c, err := felica.NewNodeCode(36, felica.AttrCyclicRW|felica.AttrNoKey)
	if err != nil || c != 0x090D {
		t.Errorf("NewNodeCode(36, 0D) = %s, %v", c, err)
	}
	if _, err := felica.NewNodeCode(1024, 0); !errors.Is(err, felica.ErrBadParameter) {
		t.Errorf("NewNodeCode(1024): %v", err)
	}
	if _, err := felica.NewNodeCode(1, 0x40); !errors.Is(err, felica.ErrBadParameter) {
		t.Errorf("NewNodeCode(attr 40): %v", err)
	}
	for s, want := range map[string]felica.NodeCode{"0009": 9, "100b": 0x100B, "FFFF": 0xFFFF} {
		if got, err := felica.ParseNodeCode(s); err != nil || got != want {
			t.Errorf("ParseNodeCode(%q) = %s, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "009", "00009", "00G9", "+009", "-009"} {
		if _, err := felica.ParseNodeCode(s); !errors.Is(err, felica.ErrMalformed) {
			t.Errorf("ParseNodeCode(%q): %v, want ErrMalformed", s, err)
		}
	}
}

func TestArea(t *testing.T) {
	a := felica.Area{Code: 0x1000, End: 0x13FF}
	for code, want := range map[felica.NodeCode]bool{0x1000: true, 0x1009: true, 0x13FF: true, 0x0FFF: false, 0x1400: false} {
		if a.Contains(code) != want {
			t.Errorf("%s contains %s = %v", a, code, !want)
		}
	}
}

func TestIDm(t *testing.T) {
	id, err := felica.ParseIDm("01020304050607ff")
	if err != nil || id != (felica.IDm{1, 2, 3, 4, 5, 6, 7, 0xFF}) {
		t.Fatalf("ParseIDm = %v, %v", id, err)
	}
	if id.String() != "01020304050607FF" || id.Masked() != "0102********07FF" {
		t.Errorf("String %q Masked %q", id.String(), id.Masked())
	}
	for _, s := range []string{"", "0102030405060708FF", "010203040506070", "0102030405060G08"} {
		if _, err := felica.ParseIDm(s); !errors.Is(err, felica.ErrMalformed) {
			t.Errorf("ParseIDm(%q): %v", s, err)
		}
	}
}

func TestSystemCodeMatches(t *testing.T) {
	tests := []struct {
		polled, card felica.SystemCode
		want         bool
	}{
		{0xFFFF, 0x80DE, true}, {0x80DE, 0x80DE, true}, {0x80FF, 0x80DE, true},
		{0xFFDE, 0x80DE, true}, {0x0003, 0x80DE, false}, {0x80FF, 0x81DE, false},
	}
	for _, tc := range tests {
		if got := tc.polled.Matches(tc.card); got != tc.want {
			t.Errorf("%s matches %s = %v", tc.polled, tc.card, got)
		}
	}
	if sc, err := felica.ParseSystemCode("80DE"); err != nil || sc != 0x80DE || sc.String() != "80DE" {
		t.Errorf("ParseSystemCode = %s, %v", sc, err)
	}
}
