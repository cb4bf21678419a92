package bincodec_test

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/internal/bincodec"
)

var t0 = time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)

// zoneOf is where a time whose zone has offset off reads back: UTC stays
// UTC, an offset that is the local zone's there reads as time.Local, any
// other as an unnamed fixed zone.
func zoneOf(at time.Time, off int) *time.Location {
	if _, local := at.In(time.Local).Zone(); local == off {
		return time.Local
	}
	return time.FixedZone("", off)
}

func TestTime(t *testing.T) {
	lmt := time.Date(1890, 1, 1, 0, 0, 0, 1, time.FixedZone("LMT", 9*3600+18*60+59))
	zeroOffset := t0.In(time.FixedZone("GMT", 0))
	minusOneMinute := t0.In(time.FixedZone("", -90))
	now := time.Now()
	cases := []struct {
		name string
		in   time.Time
		want time.Time
		note string // what JSON did not keep, or "" when it kept it
	}{
		{"UTC with nanoseconds", t0, t0, ""},
		{"zero", time.Time{}, time.Time{}, ""},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), ""},
		{"other zone", t0.In(time.FixedZone("JST", 9*3600)), t0.In(zoneOf(t0, 9*3600)), ""},
		{"before 1970", time.Unix(-1, 999_999_999).UTC(), time.Unix(-1, 999_999_999).UTC(), ""},
		{"past year 9999", time.Date(20_000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(20_000, 1, 1, 0, 0, 0, 0, time.UTC),
			"JSON refused years past 9999"},
		{"offset with seconds", lmt, lmt.In(zoneOf(lmt, 9*3600+18*60+59)), "JSON dropped the seconds of the offset"},
		{"zero offset", zeroOffset, zeroOffset.In(zoneOf(t0, 0)), "JSON read a zero offset as UTC"},
		{"local", time.Date(2031, 1, 2, 3, 4, 5, 6, time.Local), time.Date(2031, 1, 2, 3, 4, 5, 6, time.Local), "JSON read a zero offset as UTC"},
		{"monotonic reading", now, now.Round(0), "JSON read a zero offset as UTC"},
		{"offset of -1 minute", minusOneMinute, t0, "the binary form has no such offset: the instant survives in UTC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bincodec.AppendTime([]byte("x"), tc.in)
			r := bincodec.NewReader(b[1:])
			got := r.Time()
			if err := r.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) || !got.Equal(tc.in) {
				t.Errorf("read back as %v (%#v), want %v (%s)", got, got.Location(), tc.want, tc.note)
			}
		})
	}
}

// TestValues: each value reads back as it was written, in order, and the
// record then ends.
func TestValues(t *testing.T) {
	long := strings.Repeat("x", 20_000) // a length of three bytes
	b := []byte{7}
	b = binary.AppendUvarint(b, math.MaxUint64)
	b = binary.AppendVarint(b, math.MinInt64)
	b = bincodec.AppendString(b, "")
	b = bincodec.AppendString(b, long)
	b = bincodec.AppendString(b, "\xff\x00")
	b = bincodec.AppendStrings(b, nil)
	b = bincodec.AppendStrings(b, []string{})
	b = bincodec.AppendStrings(b, []string{"", "a", long})
	b = bincodec.AppendBool(b, true)
	b = bincodec.AppendBool(b, false)
	b = bincodec.AppendTime(b, t0)

	r := bincodec.NewReader(b)
	got := []any{r.Byte(), r.Uvarint(), r.Varint(), r.Str(), r.Str(), r.Str(), r.Strs(), r.Strs(), r.Strs(), r.Bool(), r.Bool(), r.Time()}
	want := []any{byte(7), uint64(math.MaxUint64), int64(math.MinInt64), "", long, "\xff\x00", []string(nil), []string(nil),
		[]string{"", "a", long}, true, false, t0}
	if err := r.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%#v\nwant\n%#v", got, want)
	}
}

// TestReaderCopies: what a Reader returns outlives the bytes it read, as
// a bbolt page is valid only in its transaction.
func TestReaderCopies(t *testing.T) {
	b := bincodec.AppendStrings(bincodec.AppendString(nil, "card"), []string{"p1"})
	r := bincodec.NewReader(b)
	s, list := r.Str(), r.Strs()
	for i := range b {
		b[i] = 0
	}
	if s != "card" || !reflect.DeepEqual(list, []string{"p1"}) {
		t.Errorf("after the record was overwritten: %q, %q", s, list)
	}
}

// TestFailureSticks: the first failure is the one reported; reads after it
// return zero values.
func TestFailureSticks(t *testing.T) {
	r := bincodec.NewReader(bincodec.AppendString([]byte{2}, "after"))
	if r.Bool() || r.Err() == nil {
		t.Fatalf("flag 2 read as true or without an error")
	}
	first := r.Err()
	if s := r.Str(); s != "" {
		t.Errorf("Str after a failure = %q", s)
	}
	if err := r.Finish(); err != first || !errors.Is(err, bincodec.ErrCorrupt) {
		t.Errorf("Finish = %v, want the first failure %v, wrapping ErrCorrupt", err, first)
	}
}

func TestRefusesDamage(t *testing.T) {
	// A time is its length, the version, 8 bytes of seconds, 4 of
	// nanoseconds and 2 of offset (with a third in version 2).
	timeRecord := bincodec.AppendTime(nil, t0)
	pastASecond := append([]byte{}, timeRecord...)
	binary.BigEndian.PutUint32(pastASecond[10:], 1e9)
	version2 := append([]byte{16, 2}, timeRecord[2:]...)
	version2 = append(version2, 0)
	cases := map[string]struct {
		data []byte
		read func(r *bincodec.Reader)
	}{
		"empty":                 {nil, func(r *bincodec.Reader) { r.Byte() }},
		"varint cut short":      {[]byte{0x80}, func(r *bincodec.Reader) { r.Uvarint() }},
		"varint too long":       {[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *bincodec.Reader) { r.Varint() }},
		"string past the end":   {[]byte{5, 'a'}, func(r *bincodec.Reader) { r.Str() }},
		"huge string":           {binary.AppendUvarint(nil, math.MaxUint64), func(r *bincodec.Reader) { r.Str() }},
		"list past the end":     {[]byte{100, 0}, func(r *bincodec.Reader) { r.Strs() }},
		"huge list":             {binary.AppendUvarint(nil, math.MaxUint64), func(r *bincodec.Reader) { r.Strs() }},
		"time cut short":        {timeRecord[:len(timeRecord)-1], func(r *bincodec.Reader) { r.Time() }},
		"time of no version":    {[]byte{1, 0}, func(r *bincodec.Reader) { r.Time() }},
		"nanoseconds past 1s":   {pastASecond, func(r *bincodec.Reader) { r.Time() }},
		"time in version 2":     {version2, func(r *bincodec.Reader) { r.Time() }},
		"flag 2":                {[]byte{2}, func(r *bincodec.Reader) { r.Bool() }},
		"a byte after the end":  {[]byte{1, 0}, func(r *bincodec.Reader) { r.Bool() }},
		"failed by its codec":   {[]byte{9}, func(r *bincodec.Reader) { r.Fail("unknown format %d", r.Byte()) }},
		"another format":        {[]byte{9}, func(r *bincodec.Reader) { r.Format(8, "record") }},
		"no format byte":        {nil, func(r *bincodec.Reader) { r.Format(8, "record") }},
		"string then cut short": {bincodec.AppendString(nil, "abc")[:3], func(r *bincodec.Reader) { r.Str() }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := bincodec.NewReader(tc.data)
			tc.read(&r)
			if err := r.Finish(); !errors.Is(err, bincodec.ErrCorrupt) {
				t.Errorf("Finish = %v, want ErrCorrupt", err)
			}
		})
	}
}
