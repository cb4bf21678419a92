// Package bincodec is the low-level form of the store's binary records:
// varints, length-prefixed strings and lists, times and flags, appended to
// a byte slice by the Append functions and read back by a Reader.
//
// # Basics
//
// A record codec (sessioncodec, ledgercodec) writes a format byte, then
// its fields in a fixed order with the Append functions and
// encoding/binary's AppendVarint and AppendUvarint, and reads them back in
// the same order with a Reader:
//
//   - integers are varints (zig-zag for signed ones);
//   - a string is a uvarint length, then its bytes;
//   - a list of strings is its length+1 (0 for a nil or empty list), then
//     each string;
//   - a time is one length byte, then time.Time's binary form, which keeps
//     the instant to the nanosecond and the zone offset, as JSON did; an
//     instant (AppendInstant, for newer formats) keeps the same in fewer
//     bytes: a zone tag, the offset unless UTC, the Unix seconds and the
//     nanoseconds as varints;
//   - a byte slice is its length+1 (0 for nil), then its bytes; a list
//     of other values is its length+1 (AppendCount), then each value;
//   - a flag is one byte, 0 or 1.
//
// # Caveats
//
//   - A Reader's first failure sticks: later reads return zero values and
//     Err says what went wrong, so a codec checks once, at the end.
//   - The strings a Reader returns share one copy of the record, made by
//     NewReader: one allocation per record rather than one per string, at
//     the price of keeping the whole record alive while any of them is.
//   - It carries no versions or types of its own: the format byte and the
//     order of the fields are the record codec's.
package bincodec
