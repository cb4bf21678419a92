// Package ledgercodec is the stored form of the ledger records that every
// top-up reads and writes, store.Card and store.Purchase: a compact binary
// record with a leading format byte (the formats are described beside
// CardFormat and PurchaseFormat), written with package bincodec.
//
// A record that starts with '{' is JSON, as written by earlier versions;
// it still reads, so files need no migration, and it becomes binary when
// its record is next put.
//
// It is internal to package store: the form is the backends' business,
// not the engine's or the admin API's, which see the records as Go values
// and show them as JSON of their own. It is not a wire format and carries
// no versioning beyond its first byte.
package ledgercodec
