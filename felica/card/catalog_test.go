package card_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/internal/sharedref"
)

// sharedDemo is the reference card file the embedded copy must equal.
const sharedDemo = "../../../shared/cards/demo.json"

func TestDemoEqualsSharedFile(t *testing.T) {
	sharedref.Need(t, sharedDemo)
	onDisk, err := card.LoadFile(sharedDemo)
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", sharedDemo, err)
	}
	embedded, err := card.Demo()
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	if !reflect.DeepEqual(onDisk, embedded) {
		t.Errorf("embedded demo.json differs from %s: copy it again", sharedDemo)
	}
	raw, err := os.ReadFile(sharedDemo)
	if err != nil {
		t.Fatal(err)
	}
	copyRaw, err := os.ReadFile("demo.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, copyRaw) {
		t.Errorf("felica/card/demo.json is not a byte-for-byte copy of %s", sharedDemo)
	}
}

func TestDemoContent(t *testing.T) {
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	l := cat.Layout
	if l.SystemCode != 0x80DE || l.PMm != (felica.PMm{0x10, 0x0B, 0x4B, 0x42, 0x84, 0x85, 0xD0, 0xFF}) || l.MaxBalance != 20000 {
		t.Errorf("layout header = %s %s %d", l.SystemCode, l.PMm, l.MaxBalance)
	}
	wantAreas := []card.Area{{Code: 0x0000, End: 0xFFFE, KeyVersion: 0}, {Code: 0x1000, End: 0x13FF, KeyVersion: 1}}
	if !reflect.DeepEqual(l.Areas, wantAreas) {
		t.Errorf("areas = %+v", l.Areas)
	}
	wantServices := []card.Service{
		{Name: "info", Number: 2, Kind: card.KindRandom, ReadWrite: 0x0089, ReadOnly: 0x008B, Blocks: 1, KeyVersion: 1},
		{Name: "balance", Number: 64, Kind: card.KindRandom, ReadWrite: 0x1009, ReadOnly: 0x100B, Blocks: 1, KeyVersion: 1},
		{Name: "history", Number: 36, Kind: card.KindCyclic, ReadWrite: 0x090D, ReadOnly: 0x090F, Blocks: 8, KeyVersion: 1},
	}
	if !reflect.DeepEqual(l.Services, wantServices) {
		t.Errorf("services = %+v", l.Services)
	}
	if len(cat.Cards) != 7 {
		t.Fatalf("%d cards, want 7", len(cat.Cards))
	}
	img, ok := cat.Image("012e4c7a11223344")
	if !ok || img.Label != "phone card: active adult, 1000 yen, counter 7" {
		t.Fatalf("Image by IDm = %q, %v", img.Label, ok)
	}
	if got := img.Blocks["history"][1]; got != [16]byte{0x10, 0x6A, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x06, 0, 0x40, 0x35, 0xFC, 0x6A, 0} {
		t.Errorf("history[1] = %X", got)
	}
	if byLabel, ok := cat.Image("physical card: already transferred"); !ok || byLabel.IDm != (felica.IDm{1, 1, 0x12, 0, 0x12, 0x34, 0x56, 0x79}) {
		t.Errorf("Image by label = %s, %v", byLabel.IDm, ok)
	}
	if _, ok := cat.Image("0000000000000000"); ok {
		t.Error("Image found a card that is not there")
	}
}

func TestLoadRejects(t *testing.T) {
	raw, err := os.ReadFile(sharedDemo)
	if err != nil {
		t.Fatal(err)
	}
	demo := string(raw)
	tests := []struct {
		name, old, new string
	}{
		{"unknown key", `"maxBalance"`, `"maxBalanse"`},
		{"bad system code", `"systemCode": "80DE"`, `"systemCode": "80D"`},
		{"bad pmm", `"100B4B428485D0FF"`, `"100B4B428485D0FG"`},
		{"area not an area", `"areaCode": "1000"`, `"areaCode": "1009"`},
		{"area ends before it starts", `"endCode": "13FF"`, `"endCode": "0FFF"`},
		{"no root area", `"areaCode": "0000"`, `"areaCode": "0400"`},
		{"code number differs", `"rw": "0089"`, `"rw": "00C9"`},
		{"read-write code with read-only attribute", `"rw": "0089"`, `"rw": "008B"`},
		{"cyclic service with random code", `"rw": "090D"`, `"rw": "0909"`},
		{"purse kind", `"kind": "cyclic"`, `"kind": "purse"`},
		{"unknown code key", `"ro": "008B"`, `"rx": "008B"`},
		{"zero blocks", `"blocks": 8`, `"blocks": 0`},
		{"more than 1 MiB of blocks", `"blocks": 8`, `"blocks": 65535`},
		{"duplicate name", `"name": "balance"`, `"name": "info"`},
		{"duplicate idm", `"idm": "012E4C7A11223345"`, `"idm": "012E4C7A11223344"`},
		{"short block", `"F4010000010000000000000000000000"`, `"F401000001000000000000000000000"`},
		{"unknown service in image", `"balance": [
          "F4010000`, `"purse": [
          "F4010000`},
		{"more blocks than the service", `"00102C3A000000000000000000000000"`, `"00102C3A000000000000000000000000", "00102C3A000000000000000000000000"`},
		{"trailing data", "", "{}"},
		{"not json", `{`, `[`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := demo + tt.new
			if tt.old != "" {
				text = strings.Replace(demo, tt.old, tt.new, 1)
			}
			if text == demo {
				t.Fatalf("replacement %q not found in demo.json", tt.old)
			}
			_, err := card.Load(strings.NewReader(text))
			t.Log(err)
			if !errors.Is(err, card.ErrInvalidCatalog) {
				t.Errorf("Load = %v, want ErrInvalidCatalog", err)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	if _, err := card.LoadFile("testdata/no-such-file.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile = %v, want os.ErrNotExist", err)
	}
}
