package ledgercodec_test

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/internal/bincodec"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/ledgercodec"
	"github.com/tes-project/tes/store/storetest"
)

var t0 = time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)

// typicalCard is a card in the middle of a top-up: the write was sent, the
// purchase is uncertain.
func typicalCard() store.Card {
	return store.Card{
		IssuerID: "DEMO", CardID: "bench-7f3a-C12", Status: store.CardActive, ProductCode: 1,
		DeviceID: "bench-7f3a-D12", Expiry: "2032-12-31",
		LastKnownBalance: new(int64(12_300)), LastCounter: new(41),
		Uncertain: []string{"bench-7f3a-P12-40"}, UpdatedAt: t0,
	}
}

// typicalPurchase is typicalCard's uncertain purchase.
func typicalPurchase() store.Purchase {
	return store.Purchase{
		IssuerID: "DEMO", PurchaseID: "bench-7f3a-P12-40", CardID: "bench-7f3a-C12", Amount: 1000,
		Kind: store.PurchaseTopUp, Status: store.PurchaseUncertain, ExpectedCounter: 42,
		SessionID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", UpdatedAt: t0,
	}
}

// Times that JSON kept: another zone, nanoseconds, before 1970, the year 1.
// (bincodec's tests have the times JSON did not keep.)
var (
	tokyo    = t0.In(time.FixedZone("JST", 9*3600))
	negative = time.Date(1960, 1, 2, 3, 4, 5, 999_999_999, time.FixedZone("", -5*3600-30*60))
	year1    = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
)

func cardCases() map[string]store.Card {
	typical := typicalCard()
	full := typical
	full.Status, full.ProductCode = store.CardBlacklisted, -3
	full.ParkedBalance = new(int64(0))
	full.PendingPark = &store.PendingPark{Balance: 12_300, Counter: 41, SessionID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}
	full.Uncertain = []string{"p1", "p2", "p3"}
	full.ParkedAt = new(tokyo)
	zeros := store.Card{
		IssuerID: "i", CardID: "c", LastKnownBalance: new(int64(0)), LastCounter: new(0), ParkedBalance: new(int64(0)),
		PendingPark: &store.PendingPark{}, ParkedAt: new(time.Time{}),
	}
	extremes := store.Card{
		IssuerID: "i", CardID: "c", ProductCode: math.MinInt,
		LastKnownBalance: new(int64(math.MinInt64)), LastCounter: new(math.MaxInt), ParkedBalance: new(int64(math.MaxInt64)),
		PendingPark: &store.PendingPark{Balance: math.MaxInt64, Counter: math.MinInt},
	}
	// Lengths and counts of one and two bytes (small, as a seed of the
	// fuzz target below).
	long := store.Card{
		IssuerID: strings.Repeat("I", 127), CardID: strings.Repeat("C", 128), Status: "FUTURE_STATUS",
		DeviceID: strings.Repeat("D", 300), Expiry: "2032-12-31", Uncertain: make([]string, 130),
	}
	for i := range long.Uncertain {
		long.Uncertain[i] = strings.Repeat("p", i%3)
	}
	return map[string]store.Card{
		"typical":         typical,
		"every field":     full,
		"minimal":         {IssuerID: "i", CardID: "c", Status: store.CardActive},
		"zero":            {},
		"zero pointees":   zeros,
		"extremes":        extremes,
		"empty uncertain": {IssuerID: "i", CardID: "c", Uncertain: []string{}},
		"empty strings":   {Uncertain: []string{"", ""}, PendingPark: &store.PendingPark{SessionID: ""}},
		"long strings":    long,
		"unicode":         {IssuerID: "発行者", CardID: "カード-1", DeviceID: "\u00e9\u0000x"},
		"other times":     {UpdatedAt: negative, ParkedAt: new(year1)},
	}
}

func purchaseCases() map[string]store.Purchase {
	return map[string]store.Purchase{
		"typical": typicalPurchase(),
		"minimal": {IssuerID: "i", PurchaseID: "p", CardID: "c", Amount: -5, Kind: store.PurchaseTopUp, Status: store.PurchasePending},
		"zero":    {},
		"extremes": {IssuerID: "i", PurchaseID: "p", Amount: math.MinInt64, ExpectedCounter: math.MaxInt,
			Kind: "FUTURE_KIND", Status: "FUTURE_STATUS"},
		"applied refund": {IssuerID: "i", PurchaseID: "p", CardID: "c", Amount: math.MaxInt64,
			Kind: store.PurchaseRefund, Status: store.PurchaseApplied, ExpectedCounter: -1, UpdatedAt: tokyo},
		"long strings": {IssuerID: strings.Repeat("I", 200), PurchaseID: strings.Repeat("P", 300), SessionID: "s"},
		"before 1970":  {UpdatedAt: negative},
		"year 1":       {UpdatedAt: year1},
	}
}

// TestCardRoundTrip: every card reads back as its JSON record did, and its
// JSON record, as an earlier version wrote it, still reads.
func TestCardRoundTrip(t *testing.T) {
	for name, c := range cardCases() {
		t.Run(name, func(t *testing.T) {
			want, old := storetest.ViaJSON(t, c)
			got, err := ledgercodec.DecodeCard(ledgercodec.AppendCard(nil, c))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("binary round trip\n%+v\nJSON round trip\n%+v", got, want)
			}
			got, err = ledgercodec.DecodeCard(old)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("JSON record read as\n%+v, %v\nwant\n%+v", got, err, want)
			}
		})
	}
}

func TestPurchaseRoundTrip(t *testing.T) {
	for name, p := range purchaseCases() {
		t.Run(name, func(t *testing.T) {
			want, old := storetest.ViaJSON(t, p)
			got, err := ledgercodec.DecodePurchase(ledgercodec.AppendPurchase(nil, p))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("binary round trip\n%+v\nJSON round trip\n%+v", got, want)
			}
			got, err = ledgercodec.DecodePurchase(old)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("JSON record read as\n%+v, %v\nwant\n%+v", got, err, want)
			}
		})
	}
}

// TestKeepsBytes: strings are kept byte for byte, where JSON replaced
// invalid UTF-8 with U+FFFD.
func TestKeepsBytes(t *testing.T) {
	c := store.Card{IssuerID: "i", CardID: "\xff\xfe", Uncertain: []string{"\x80"}}
	if got, err := ledgercodec.DecodeCard(ledgercodec.AppendCard(nil, c)); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("card read back as %+v, %v; want %+v", got, err, c)
	}
	p := store.Purchase{PurchaseID: "\xc3\x28"}
	if got, err := ledgercodec.DecodePurchase(ledgercodec.AppendPurchase(nil, p)); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("purchase read back as %+v, %v; want %+v", got, err, p)
	}
}

// TestAppendsToDst: the encoders append, leaving what dst held.
func TestAppendsToDst(t *testing.T) {
	prefix := []byte("prefix")
	b := ledgercodec.AppendCard(append([]byte{}, prefix...), typicalCard())
	if got, err := ledgercodec.DecodeCard(b[len(prefix):]); string(b[:len(prefix)]) != "prefix" || err != nil || !reflect.DeepEqual(got, typicalCard()) {
		t.Errorf("AppendCard after a prefix: %q, then %+v, %v", b[:len(prefix)], got, err)
	}
	b = ledgercodec.AppendPurchase(append([]byte{}, prefix...), typicalPurchase())
	if got, err := ledgercodec.DecodePurchase(b[len(prefix):]); string(b[:len(prefix)]) != "prefix" || err != nil || !reflect.DeepEqual(got, typicalPurchase()) {
		t.Errorf("AppendPurchase after a prefix: %q, then %+v, %v", b[:len(prefix)], got, err)
	}
}

// Stored records must read for as long as files live: these are format 1
// as first written, byte for byte.
const (
	typicalCardV1 = "010444454d4f0e62656e63682d376633612d43313206414354495645020e62656e63682d376633612d4431320a323033322d31322d3331" +
		"0198c001015200000211" + "62656e63682d376633612d5031322d3430" + "0f010000000eeacb460c075bcd15ffff" + "00"
	typicalPurchaseV1 = "010444454d4f1162656e63682d376633612d5031322d34300e62656e63682d376633612d433132" +
		"d00f" + "05544f505550" + "09554e4345525441494e" + "54" + "203066316532643363346235613639373838373936613562346333643265316630" +
		"0f010000000eeacb460c075bcd15ffff"
)

func TestFormatIsStable(t *testing.T) {
	card, err := hex.DecodeString(typicalCardV1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ledgercodec.AppendCard(nil, typicalCard()); string(got) != string(card) {
		t.Errorf("typical card encodes as\n%x\nnot format 1's\n%x", got, card)
	}
	if got, err := ledgercodec.DecodeCard(card); err != nil || !reflect.DeepEqual(got, typicalCard()) {
		t.Errorf("format 1 card reads as %+v, %v", got, err)
	}
	purchase, err := hex.DecodeString(typicalPurchaseV1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ledgercodec.AppendPurchase(nil, typicalPurchase()); string(got) != string(purchase) {
		t.Errorf("typical purchase encodes as\n%x\nnot format 1's\n%x", got, purchase)
	}
	if got, err := ledgercodec.DecodePurchase(purchase); err != nil || !reflect.DeepEqual(got, typicalPurchase()) {
		t.Errorf("format 1 purchase reads as %+v, %v", got, err)
	}
}

// TestReadsEarlierJSON: records as an earlier version wrote them, verbatim.
func TestReadsEarlierJSON(t *testing.T) {
	card := `{"issuerId":"DEMO","cardId":"C1","status":"ACTIVE","productCode":1,"deviceId":"D1",` +
		`"lastKnownBalance":1200,"lastCounter":7,"pendingPark":{"balance":1200,"counter":7,"sessionId":"s1"},` +
		`"uncertain":["P1"],"updatedAt":"2031-04-05T06:07:08.123456789Z","parkedAt":"2031-04-05T15:07:08+09:00"}`
	gotCard, err := ledgercodec.DecodeCard([]byte(card))
	if err != nil {
		t.Fatalf("card: %v", err)
	}
	wantCard := store.Card{IssuerID: "DEMO", CardID: "C1", Status: store.CardActive, ProductCode: 1, DeviceID: "D1",
		LastKnownBalance: new(int64(1200)), LastCounter: new(7), PendingPark: &store.PendingPark{Balance: 1200, Counter: 7, SessionID: "s1"},
		Uncertain: []string{"P1"}, UpdatedAt: t0}
	if gotCard.ParkedAt == nil || !gotCard.ParkedAt.Equal(t0.Truncate(time.Second)) {
		t.Errorf("parkedAt read as %v", gotCard.ParkedAt)
	}
	if gotCard.ParkedAt = nil; !reflect.DeepEqual(gotCard, wantCard) {
		t.Errorf("card read as\n%+v\nwant\n%+v", gotCard, wantCard)
	}
	purchase := `{"issuerId":"DEMO","purchaseId":"P1","cardId":"C1","amount":1000,"kind":"TOPUP","status":"APPLIED","expectedCounter":8,"updatedAt":"2031-04-05T06:07:08.123456789Z"}`
	gotPurchase, err := ledgercodec.DecodePurchase([]byte(purchase))
	wantPurchase := store.Purchase{IssuerID: "DEMO", PurchaseID: "P1", CardID: "C1", Amount: 1000, Kind: store.PurchaseTopUp,
		Status: store.PurchaseApplied, ExpectedCounter: 8, UpdatedAt: t0}
	if err != nil || !reflect.DeepEqual(gotPurchase, wantPurchase) {
		t.Errorf("purchase read as\n%+v, %v\nwant\n%+v", gotPurchase, err, wantPurchase)
	}
}

// TestRefusesDamage: a record cut short, with a byte too many, of another
// format or with a bad flag is refused with bincodec.ErrCorrupt, as is
// broken JSON.
func TestRefusesDamage(t *testing.T) {
	decoders := map[string]struct {
		record []byte
		decode func([]byte) error
	}{
		"card": {ledgercodec.AppendCard(nil, cardCases()["every field"]),
			func(b []byte) error { _, err := ledgercodec.DecodeCard(b); return err }},
		"purchase": {ledgercodec.AppendPurchase(nil, typicalPurchase()),
			func(b []byte) error { _, err := ledgercodec.DecodePurchase(b); return err }},
	}
	for name, d := range decoders {
		t.Run(name, func(t *testing.T) {
			for n := range len(d.record) {
				if err := d.decode(d.record[:n]); !errors.Is(err, bincodec.ErrCorrupt) {
					t.Fatalf("record cut to %d of %d bytes: %v, want bincodec.ErrCorrupt", n, len(d.record), err)
				}
			}
			damaged := map[string][]byte{
				"trailing byte":    append(append([]byte{}, d.record...), 0),
				"format 0":         append([]byte{0}, d.record[1:]...),
				"format 2":         append([]byte{2}, d.record[1:]...),
				"broken JSON":      []byte(`{"issuerId":`),
				"JSON of a number": []byte(`{"issuerId":1}`),
				"huge length":      {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			}
			for what, b := range damaged {
				if err := d.decode(b); !errors.Is(err, bincodec.ErrCorrupt) {
					t.Errorf("%s: %v, want bincodec.ErrCorrupt", what, err)
				}
			}
		})
	}
	// The card's last byte is ParkedAt's flag, when it is unset.
	card := ledgercodec.AppendCard(nil, typicalCard())
	card[len(card)-1] = 2
	if _, err := ledgercodec.DecodeCard(card); !errors.Is(err, bincodec.ErrCorrupt) {
		t.Errorf("flag 2: %v, want bincodec.ErrCorrupt", err)
	}
}

// FuzzDecodeCard: no input panics, every refusal is ErrCorrupt, and
// whatever decodes encodes back to a record that decodes to the same card.
func FuzzDecodeCard(f *testing.F) {
	for _, c := range cardCases() {
		f.Add(ledgercodec.AppendCard(nil, c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ledgercodec.DecodeCard(data)
		if err != nil {
			if !errors.Is(err, bincodec.ErrCorrupt) {
				t.Fatalf("refused with %v, not bincodec.ErrCorrupt", err)
			}
			return
		}
		again, err := ledgercodec.DecodeCard(ledgercodec.AppendCard(nil, c))
		if err != nil {
			t.Fatalf("re-encoded card does not decode: %v", err)
		}
		// JSON reads what binary keeps apart ([] and null lists; zone
		// offsets a time's binary form cannot hold) as the same value.
		if data[0] != '{' && !reflect.DeepEqual(again, c) {
			t.Fatalf("re-encoded card decodes to\n%+v\nnot\n%+v", again, c)
		}
	})
}

// FuzzDecodePurchase is FuzzDecodeCard for purchases.
func FuzzDecodePurchase(f *testing.F) {
	for _, p := range purchaseCases() {
		f.Add(ledgercodec.AppendPurchase(nil, p))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ledgercodec.DecodePurchase(data)
		if err != nil {
			if !errors.Is(err, bincodec.ErrCorrupt) {
				t.Fatalf("refused with %v, not bincodec.ErrCorrupt", err)
			}
			return
		}
		again, err := ledgercodec.DecodePurchase(ledgercodec.AppendPurchase(nil, p))
		if err != nil {
			t.Fatalf("re-encoded purchase does not decode: %v", err)
		}
		// JSON reads what binary keeps apart ([] and null lists; zone
		// offsets a time's binary form cannot hold) as the same value.
		if data[0] != '{' && !reflect.DeepEqual(again, p) {
			t.Fatalf("re-encoded purchase decodes to\n%+v\nnot\n%+v", again, p)
		}
	})
}
