package bincodec_test

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tes-project/tes/internal/bincodec"
)

func TestInstant(t *testing.T) {
	lmt := time.Date(1890, 1, 1, 0, 0, 0, 1, time.FixedZone("LMT", 9*3600+18*60+59))
	zeroOffset := t0.In(time.FixedZone("GMT", 0))
	minusOneMinute := t0.In(time.FixedZone("", -90))
	zeroInTokyo := time.Time{}.In(time.FixedZone("JST", 9*3600))
	now := time.Now()
	cases := []struct {
		name string
		in   time.Time
		want time.Time
		size int // bytes written, 0: not checked
	}{
		{"UTC with nanoseconds", t0, t0, 10},
		{"UTC, whole second", t0.Truncate(time.Second), t0.Truncate(time.Second), 7},
		{"zero", time.Time{}, time.Time{}, 1},
		{"zero instant in another zone", zeroInTokyo, zeroInTokyo.In(zoneOf(zeroInTokyo, 9*3600)), 0},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), 0},
		{"other zone", t0.In(time.FixedZone("JST", 9*3600)), t0.In(zoneOf(t0, 9*3600)), 0},
		{"before 1970", time.Unix(-1, 999_999_999).UTC(), time.Unix(-1, 999_999_999).UTC(), 0},
		{"past year 9999", time.Date(20_000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(20_000, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"offset with seconds", lmt, lmt.In(zoneOf(lmt, 9*3600+18*60+59)), 0},
		{"zero offset", zeroOffset, zeroOffset.In(zoneOf(t0, 0)), 0},
		{"local", time.Date(2031, 1, 2, 3, 4, 5, 6, time.Local), time.Date(2031, 1, 2, 3, 4, 5, 6, time.Local), 0},
		{"monotonic reading", now, now.Round(0), 0},
		{"offset of -1 minute 30", minusOneMinute, t0.In(zoneOf(t0, -90)), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bincodec.AppendInstant([]byte("x"), tc.in)
			if tc.size > 0 && len(b)-1 != tc.size {
				t.Errorf("%d bytes, want %d", len(b)-1, tc.size)
			}
			r := bincodec.NewReader(b[1:])
			got := r.Instant()
			if err := r.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) || !got.Equal(tc.in) {
				t.Errorf("read back as %v (%#v), want %v", got, got.Location(), tc.want)
			}
		})
	}
}

func TestInstantRefusesDamage(t *testing.T) {
	utc := func(sec int64, nsec uint64) []byte {
		return binary.AppendUvarint(binary.AppendVarint([]byte{1}, sec), nsec)
	}
	for name, data := range map[string][]byte{
		"empty":                    {},
		"unknown zone tag":         {3, 0, 0},
		"cut short":                utc(1<<40, 5)[:3],
		"nanoseconds past 1e9":     utc(0, 1e9),
		"zero instant tagged UTC":  utc(time.Time{}.Unix(), 0),
		"padded varint":            {1, 0x80, 0x00, 0},
		"offset beyond 32 bits":    binary.AppendUvarint(binary.AppendVarint(binary.AppendVarint([]byte{2}, 1<<40), 0), 0),
		"offset, no seconds after": binary.AppendVarint([]byte{2}, 3600),
	} {
		r := bincodec.NewReader(data)
		if got := r.Instant(); !got.IsZero() || !errors.Is(r.Finish(), bincodec.ErrCorrupt) {
			t.Errorf("%s: read %v, %v; want ErrCorrupt", name, got, r.Finish())
		}
	}
}
