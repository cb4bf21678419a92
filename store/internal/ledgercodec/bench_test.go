package ledgercodec_test

import (
	"encoding/json"
	"testing"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/ledgercodec"
)

// benchCodec encodes v and decodes it back, as PutCard then Card do, by
// JSON (the form before issue 11) and in binary. Compare the two with
// benchstat -col /codec.
func benchCodec[T any](b *testing.B, v T, encode func([]byte, T) []byte, decode func([]byte) (T, error)) {
	b.Run("codec=json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			var back T
			if err := json.Unmarshal(data, &back); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("codec=binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decode(encode(nil, v)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCard: typicalCard, a card in the middle of a top-up.
func BenchmarkCard(b *testing.B) {
	benchCodec(b, typicalCard(), ledgercodec.AppendCard, ledgercodec.DecodeCard)
}

// BenchmarkPurchase: typicalPurchase, its uncertain purchase.
func BenchmarkPurchase(b *testing.B) {
	benchCodec[store.Purchase](b, typicalPurchase(), ledgercodec.AppendPurchase, ledgercodec.DecodePurchase)
}
