// Package card is a virtual FeliCa card: it executes command frames against a card
// image and answers with response frames, the way FELICA.md describes a card. Tests,
// `tes sim` and `tes bench` stand it in for a phone or a physical card.
//
// # Basics
//
// A Catalog holds a Layout (the system, its areas and services, shared by every card
// of an issuer) and card Images (an IDm and the contents of the blocks), loaded from
// the JSON format of cards/demo.json; Demo returns the embedded DEMO catalogue. New
// makes a Card from a layout and an image; Transceive executes one frame; Block and
// Snapshot expose the blocks for assertions. Commands are parsed and answers built
// with the codec in package felica, never by hand.
//
// The card answers Polling, Request Service, Request Response, Search Service Code,
// Request System Code, Request Specification Version, Reset Mode, and Read and Write
// Without Encryption, with the status flags checked in FELICA.md's order. A frame for
// another IDm, an unknown command, a malformed frame or an authentication command gets
// no answer: Transceive returns ErrNoAnswer, as a device reports a card that stays
// silent.
//
// Fault injection (Arm) lets tests lose an answer after a write was applied, fail a
// command before it is applied, or answer late; the delay goes through
// Settings.Sleep, so tests record it instead of sleeping.
//
// # Caveats
//
//   - There is no authentication: keyed services always refuse Without-Encryption
//     access (A5), and Authentication1/2 get no answer.
//   - Only random and cyclic services are supported; a layout with a purse service is
//     refused at load. Cashback access mode on a write is therefore always A5.
//   - A write of k blocks to a cyclic service pushes k records; afterwards the first
//     of them in the command is block 0 (newest), the second block 1, and so on.
//   - Polling answers in time slot 0 whatever the TSN asks; communication performance
//     (request code 02) is reported as 0083 (212 and 424 kbps, automatic); another
//     request code gets no answer.
//   - One system per card. Request Service gives FFFF for the system node FFFF, as
//     the layout carries no system key version.
//   - SF1 as a bitmap has 8 bits: a failing element past the 8th sets bit 7. The
//     counts (A1, A2) report SF1 01 in both forms.
//
// It is not a radio: there is no CRC, no timing beyond the injected delay, and no
// anticollision between cards. It is not a codec either: that is package felica.
//
// Every exported method of Card is safe for concurrent use; each card serialises its
// commands behind its own mutex, so many cards run in parallel. A Catalog is a plain
// value: share it between goroutines only while no one changes it.
package card
