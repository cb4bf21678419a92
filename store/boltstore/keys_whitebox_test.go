package boltstore

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

// FuzzTimeKeyOrder: encoded times sort exactly as the times do, over the
// whole range time.Time can hold (zero time and pre-1970 included).
func FuzzTimeKeyOrder(f *testing.F) {
	f.Add(int64(0), uint32(0), int64(0), uint32(1))
	f.Add(int64(-1), uint32(999_999_999), int64(0), uint32(0))
	f.Add(time.Time{}.Unix(), uint32(0), int64(1_900_000_000), uint32(5))
	f.Add(int64(math.MinInt64/2), uint32(7), int64(math.MaxInt64/2), uint32(7))
	f.Fuzz(func(t *testing.T, sec1 int64, nsec1 uint32, sec2 int64, nsec2 uint32) {
		t1 := time.Unix(sec1, int64(nsec1%1_000_000_000))
		t2 := time.Unix(sec2, int64(nsec2%1_000_000_000))
		if got, want := bytes.Compare(timeKey(t1), timeKey(t2)), t1.Compare(t2); got != want {
			t.Fatalf("keys of %v and %v compare %d, times %d", t1, t2, got, want)
		}
	})
}

// FuzzJoinKeyUnambiguous: two valid id pairs give the same key only when
// they are the same pair.
func FuzzJoinKeyUnambiguous(f *testing.F) {
	f.Add("ab", "c", "a", "bc")
	f.Add("a", "b", "a", "b")
	f.Add("i\x01", "d", "i", "\x01d")
	f.Fuzz(func(t *testing.T, a1, b1, a2, b2 string) {
		if store.CheckKeys("a1", a1, "b1", b1, "a2", a2, "b2", b2) != nil {
			return
		}
		same := a1 == a2 && b1 == b2
		if equal := bytes.Equal(joinKey(false, a1, b1), joinKey(false, a2, b2)); equal != same {
			t.Fatalf("(%q, %q) and (%q, %q): keys equal %t, pairs equal %t", a1, b1, a2, b2, equal, same)
		}
		prefix := joinKey(true, a1, b1)
		if !same && bytes.HasPrefix(joinKey(true, a2, b2), prefix) {
			t.Fatalf("prefix of (%q, %q) is a prefix of (%q, %q)'s", a1, b1, a2, b2)
		}
	})
}
