package ledgercodec

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/tes-project/tes/internal/bincodec"
	"github.com/tes-project/tes/store"
)

// Cards and purchases are read and written by the engine's ledger effects
// inside the store's single writer goroutine, where decoding and encoding
// them as JSON cost some 4% of the server's CPU under load (issue 11): in
// this form they cost a fraction of that, and of JSON's garbage.
//
// A card is CardFormat, then, in this order: IssuerID, CardID, Status,
// ProductCode, DeviceID, Expiry; LastKnownBalance, LastCounter and
// ParkedBalance, each a flag then, when set, its value; PendingPark, a flag
// then, when set, its Balance, Counter and SessionID; Uncertain; UpdatedAt;
// ParkedAt, a flag then, when set, the time. Values take bincodec's forms.
//
// Every field reads back as it went in, except what JSON also changed:
// an empty Uncertain reads back nil, a time loses its monotonic reading
// and its zone keeps only its offset. Strings are kept byte for byte,
// where JSON replaced invalid UTF-8.
const CardFormat byte = 1

// A purchase is PurchaseFormat, then, in this order: IssuerID, PurchaseID,
// CardID, Amount, Kind, Status, ExpectedCounter, SessionID, UpdatedAt.
const PurchaseFormat byte = 1

// cardFixedMax is the most a card takes beside the bytes of its strings,
// when those are shorter than 128 bytes: the format byte, six string
// lengths, ProductCode, three flagged varints, PendingPark's flag and
// varints, the list length and the two times (one of them flagged).
const cardFixedMax = 1 + 6 + 10 + 3*11 + 21 + 1 + 17 + 18

// purchaseFixedMax is cardFixedMax for a purchase: the format byte, six
// string lengths, two varints and a time.
const purchaseFixedMax = 1 + 6 + 2*10 + 17

// AppendCard appends the stored form of c to dst.
func AppendCard(dst []byte, c store.Card) []byte {
	n := cardFixedMax + len(c.IssuerID) + len(c.CardID) + len(c.Status) + len(c.DeviceID) + len(c.Expiry)
	if c.PendingPark != nil {
		n += len(c.PendingPark.SessionID)
	}
	for _, id := range c.Uncertain {
		n += 1 + len(id)
	}
	b := slices.Grow(dst, n)

	b = append(b, CardFormat)
	b = bincodec.AppendString(b, c.IssuerID)
	b = bincodec.AppendString(b, c.CardID)
	b = bincodec.AppendString(b, string(c.Status))
	b = binary.AppendVarint(b, int64(c.ProductCode))
	b = bincodec.AppendString(b, c.DeviceID)
	b = bincodec.AppendString(b, c.Expiry)
	b = appendOptional(b, c.LastKnownBalance)
	b = appendOptional(b, c.LastCounter)
	b = appendOptional(b, c.ParkedBalance)
	b = bincodec.AppendBool(b, c.PendingPark != nil)
	if p := c.PendingPark; p != nil {
		b = binary.AppendVarint(b, p.Balance)
		b = binary.AppendVarint(b, int64(p.Counter))
		b = bincodec.AppendString(b, p.SessionID)
	}
	b = bincodec.AppendStrings(b, c.Uncertain)
	b = bincodec.AppendTime(b, c.UpdatedAt)
	b = bincodec.AppendBool(b, c.ParkedAt != nil)
	if c.ParkedAt != nil {
		b = bincodec.AppendTime(b, *c.ParkedAt)
	}
	return b
}

// DecodeCard reads a stored card, binary or JSON; the result shares no
// memory with data. Its errors wrap bincodec.ErrCorrupt.
func DecodeCard(data []byte) (store.Card, error) {
	if isJSON(data) {
		return decodeJSON[store.Card](data, "card")
	}
	var c store.Card
	r := bincodec.NewReader(data)
	r.Format(CardFormat, "card")
	c.IssuerID = r.Str()
	c.CardID = r.Str()
	c.Status = store.CardStatus(r.Str())
	c.ProductCode = int(r.Varint())
	c.DeviceID = r.Str()
	c.Expiry = r.Str()
	c.LastKnownBalance = readOptional[int64](&r)
	c.LastCounter = readOptional[int](&r)
	c.ParkedBalance = readOptional[int64](&r)
	if r.Bool() {
		c.PendingPark = &store.PendingPark{Balance: r.Varint(), Counter: int(r.Varint()), SessionID: r.Str()}
	}
	c.Uncertain = r.Strs()
	c.UpdatedAt = r.Time()
	if r.Bool() {
		at := r.Time()
		c.ParkedAt = &at
	}
	if err := r.Finish(); err != nil {
		return store.Card{}, fmt.Errorf("ledgercodec: card: %w", err)
	}
	return c, nil
}

// AppendPurchase appends the stored form of p to dst.
func AppendPurchase(dst []byte, p store.Purchase) []byte {
	b := slices.Grow(dst, purchaseFixedMax+len(p.IssuerID)+len(p.PurchaseID)+len(p.CardID)+len(p.Kind)+len(p.Status)+len(p.SessionID))
	b = append(b, PurchaseFormat)
	b = bincodec.AppendString(b, p.IssuerID)
	b = bincodec.AppendString(b, p.PurchaseID)
	b = bincodec.AppendString(b, p.CardID)
	b = binary.AppendVarint(b, p.Amount)
	b = bincodec.AppendString(b, string(p.Kind))
	b = bincodec.AppendString(b, string(p.Status))
	b = binary.AppendVarint(b, int64(p.ExpectedCounter))
	b = bincodec.AppendString(b, p.SessionID)
	return bincodec.AppendTime(b, p.UpdatedAt)
}

// DecodePurchase reads a stored purchase, binary or JSON; the result
// shares no memory with data. Its errors wrap bincodec.ErrCorrupt.
func DecodePurchase(data []byte) (store.Purchase, error) {
	if isJSON(data) {
		return decodeJSON[store.Purchase](data, "purchase")
	}
	var p store.Purchase
	r := bincodec.NewReader(data)
	r.Format(PurchaseFormat, "purchase")
	p.IssuerID = r.Str()
	p.PurchaseID = r.Str()
	p.CardID = r.Str()
	p.Amount = r.Varint()
	p.Kind = store.PurchaseKind(r.Str())
	p.Status = store.PurchaseStatus(r.Str())
	p.ExpectedCounter = int(r.Varint())
	p.SessionID = r.Str()
	p.UpdatedAt = r.Time()
	if err := r.Finish(); err != nil {
		return store.Purchase{}, fmt.Errorf("ledgercodec: purchase: %w", err)
	}
	return p, nil
}

// isJSON tells a record of an earlier version: json.Marshal starts every
// object with '{', which no format byte is.
func isJSON(data []byte) bool { return len(data) > 0 && data[0] == '{' }

// decodeJSON reads a record of an earlier version, named what in errors.
// (Apart from the binary path's, so that only the JSON path's record
// escapes to the heap.)
func decodeJSON[T any](data []byte, what string) (T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("ledgercodec: JSON %s: %w: %w", what, bincodec.ErrCorrupt, err)
	}
	return v, nil
}

// appendOptional appends a flag, then, when v is set, its value.
func appendOptional[T int | int64](dst []byte, v *T) []byte {
	dst = bincodec.AppendBool(dst, v != nil)
	if v == nil {
		return dst
	}
	return binary.AppendVarint(dst, int64(*v))
}

// readOptional reads what appendOptional wrote.
func readOptional[T int | int64](r *bincodec.Reader) *T {
	if !r.Bool() {
		return nil
	}
	v := T(r.Varint())
	return &v
}
