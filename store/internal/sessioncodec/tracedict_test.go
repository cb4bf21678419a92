package sessioncodec_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/tes-project/tes/internal/bincodec"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

// Stored entries name their dictionary: a changed tracedict1.bin would
// make every entry compressed against the old one decode to garbage or
// not at all. A new dictionary goes to a new file and id.
func TestTraceDictionaryNeverChanges(t *testing.T) {
	data, err := os.ReadFile("tracedict1.bin")
	if err != nil {
		t.Fatal(err)
	}
	const want = "ceb48a22f0e6b096bb7c16e06c815d133db5268205a04fe9bdaf1ce6308d5a8c"
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
		t.Fatalf("tracedict1.bin has SHA-256 %x, want %s: dictionary 1 must not change", sum, want)
	}
}

// demoEntry is the write step of a DEMO TOPUP as the engine traces it.
func demoEntry() store.TraceEntry {
	return store.TraceEntry{
		At: codecT0, Elapsed: 470_000, Step: "write", DeviceTime: 65_000,
		Responses: []store.Command{{ID: "2.1", Frame: mustHex("2D07012E4C7A1122334400000200012C3A000000000000000000000000E8030000070000000000000000000000")}},
		Decisions: []string{
			"read: !resp.card.answered || !resp.card.valid (resp.card.answered=true, resp.card.valid=true) → no",
			"read: resp.card.sf2 == 0xA6 (resp.card.sf2=0) → no",
			"read: vars.status > 3 || !(vars.product in [1, 2, 16]) (vars.status=0, vars.product=1) → no",
			"read: always → checks",
			"checks: vars.status == 1 (vars.status=0) → no",
			"checks: card.found && len(card.uncertain) > 0 (card.found=true, card.uncertain=[]) → no",
			"checks: always → purchase",
			"purchase: purchase.kind != request.operation (purchase.kind=TOPUP, request.operation=TOPUP) → no",
			"purchase: request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance (request.operation=TOPUP, vars.balance=1000, purchase.amount=500, settings.maxBalance=20000) → no",
			"purchase: always → write",
		},
		Commands: []store.Command{{ID: "3.1", Frame: mustHex("3408012E4C7A112233440209100D090280008100DC05000008000000000000000000000001F4010000DC0500000800E0D9096B00")}},
		Message:  "OK",
		Effects:  []string{"WRITE_SENT purchase SIM-1795807712967858739 counter 8"},
		Vars:     `{"balance":1000,"counter":7,"expiryDay":11322,"inStation":0,"info":"00012C3A000000000000000000000000","newBalance":1500,"newCounter":8,"product":1,"status":0}`,
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The dictionary is what makes an entry small: a typical one takes well
// under half of its fields' size (about a fifth when measured).
func TestTraceEntryCompressesAgainstTheDictionary(t *testing.T) {
	e := demoEntry()
	fields := len(sessioncodec.AppendEntryFields(nil, e))
	stored := sessioncodec.EncodeEntry(nil, e)
	if len(stored) > fields/2 {
		t.Errorf("entry of %d bytes of fields stored in %d", fields, len(stored))
	}
	t.Logf("%d bytes of fields stored in %d", fields, len(stored))
	got, err := sessioncodec.DecodeEntry(stored)
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	prefix := []byte("kept")
	if again := sessioncodec.EncodeEntry(prefix, e); string(again[:4]) != "kept" || string(again[4:]) != string(stored) {
		t.Error("EncodeEntry does not append to dst")
	}
}

// An entry of format 3, written uncompressed by the previous version,
// still reads.
func TestTraceEntryCodecReadsFormat3(t *testing.T) {
	var want store.TraceEntry
	data := readFixture(t, "entry3", &want)
	if data[0] != 3 {
		t.Fatalf("fixture of format %d", data[0])
	}
	got, err := sessioncodec.DecodeEntry(data)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("format 3 entry read as %+v, %v\nwant %+v", got, err, want)
	}
}

func TestTraceEntryCodecRefusesBadCompression(t *testing.T) {
	good := sessioncodec.EncodeEntry(nil, demoEntry())
	header := func(id uint64, rest []byte) []byte {
		return append(binary.AppendUvarint([]byte{sessioncodec.EntryFormat}, id), rest...)
	}
	_, n := binary.Uvarint(good[1:])
	block := good[1+n:]
	for name, data := range map[string][]byte{
		"empty":              {},
		"unknown format":     {9, 1, 2},
		"no dictionary id":   {sessioncodec.EntryFormat},
		"unknown dictionary": header(2, block),
		"no block":           header(1, nil),
		"block cut short":    header(1, block[:len(block)/2]),
		"huge length":        header(1, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}),
		"bytes after block":  append(header(1, block), 0),
	} {
		if _, err := sessioncodec.DecodeEntry(data); !errors.Is(err, bincodec.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}
