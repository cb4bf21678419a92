package sessioncodec

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/klauspost/compress/s2"

	"github.com/tes-project/tes/internal/bincodec"
)

// A trace entry is mostly text that every session of a flow repeats: the
// guards with their operands' names, the steps, the effects, the decoded
// frames' layout. Compressed alone, an entry of a few hundred bytes finds
// little to refer back to; compressed against a dictionary of typical
// entries, the repeated text becomes short references, and an ended DEMO
// TOPUP's trace takes about a sixth of its fields' size (BENCHMARKS.md).
// S2 (klauspost/compress) was chosen over zstd with the same dictionary:
// zstd's entries were a fifth smaller but cost 20 µs each to compress
// against S2's 3 µs, and every call compresses its entry.
//
// A dictionary, once shipped, never changes: stored entries name it by
// id. A new one (made by gendict from a corpus of traces) takes the next
// id, and the old ones stay for the entries that name them.

// EntryFormat is the first byte of a trace entry as EncodeEntry writes
// it: then the id of the dictionary, a uvarint, then the entry's fields
// (AppendEntryFields) as one S2 block compressed against it, the time in
// an instant's form. Entries of format 3 (plainEntryFormat), written by
// the previous version, hold their fields plain and still read.
const EntryFormat byte = 4

// plainEntryFormat is the first byte of a trace entry as the previous
// version wrote it: its fields, uncompressed, the time in
// bincodec.AppendTime's form.
const plainEntryFormat byte = 3

// traceDictID names tracedict1.bin in the entries compressed against it.
const traceDictID = 1

// maxEntryFields bounds what DecodeEntry will inflate one entry to, so that
// a corrupt length cannot make it allocate without bound: far above any
// step's trace (a request body is at most a few hundred KiB).
const maxEntryFields = 16 << 20

// traceDictData is the S2 dictionary of traceDictID, made by gendict
// (doc.go of that command says how) and pinned by a test.
//
//go:embed tracedict1.bin
var traceDictData []byte

// traceDict is read once; S2 builds its match tables on first use, under
// a sync.Once, and never changes them after.
var traceDict = s2.NewDict(traceDictData)

// compressEntry appends to dst the S2 block of fields against the trace
// dictionary.
func compressEntry(dst, fields []byte) []byte {
	n := s2.MaxEncodedLen(len(fields))
	start := len(dst)
	dst = slices.Grow(dst, n)
	// Encode writes from the start of the slice it is given, in place
	// when the slice can hold the longest block, which this one can.
	block := traceDict.Encode(dst[start:start+n], fields)
	return dst[:start+len(block)]
}

// inflateEntry reads what follows EntryFormat: the dictionary id and the
// block.
func inflateEntry(data []byte) ([]byte, error) {
	id, n := binary.Uvarint(data)
	if n <= 0 || id != traceDictID {
		return nil, fmt.Errorf("%w: trace entry compressed against dictionary %d, which this version does not have", bincodec.ErrCorrupt, id)
	}
	block := data[n:]
	size, err := s2.DecodedLen(block)
	if err != nil || size > maxEntryFields {
		return nil, fmt.Errorf("%w: trace entry of %d bytes: %v", bincodec.ErrCorrupt, size, err)
	}
	fields, err := traceDict.Decode(nil, block)
	if err != nil {
		return nil, fmt.Errorf("%w: trace entry: %v", bincodec.ErrCorrupt, err)
	}
	return fields, nil
}
