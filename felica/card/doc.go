// Package card is a virtual FeliCa card: it executes command frames against a card
// image and answers with response frames, the way FELICA.md describes a card. Tests,
// `tes sim` and `tes bench` stand it in for a phone or a physical card.
//
// # Basics
//
// A Catalog holds a Layout (the system, its areas and services, shared by every card
// of an issuer) and card Images (an IDm and the contents of the blocks), loaded from
// the JSON format of cards/demo.json (or cards/demo-aes.json, which adds keys); Demo
// and DemoAES return the embedded DEMO and DEMOAES catalogues. New
// makes a Card from a layout and an image; Transceive executes one frame; Block and
// Snapshot expose the blocks for assertions. Commands are parsed and answers built
// with the codec in package felica, never by hand.
//
// The card answers Polling, Request Service, Request Response, Search Service Code,
// Request System Code, Request Specification Version, Reset Mode, and Read and Write
// Without Encryption, with the status flags checked in FELICA.md's order. A frame for
// another IDm, an unknown command or a malformed frame gets no answer: Transceive
// returns ErrNoAnswer, as a device reports a card that stays silent.
//
// A card whose layout holds keys also authenticates (FELICA-SECURE.md): Request
// Service v2, Authentication1/2 v2 and Read/Write v2 with AES keys, Authentication1/2
// and the encrypted Read/Write (14/16) with DES keys, using package felica/secure. Its
// node keys come from the layout (aesKeys/desKeys per service code, aesKey/desKey per
// area, systemDesKey), its individualisation code and per-card key overrides from the
// image. Keyed services refuse Without Encryption access with A5 even in a session.
// The card stays silent, and unchanged, on a wrong Challenge 2B, a bad MAC, a stale
// transaction number, a secure command outside a session and a malformed plaintext
// behind a good MAC; block-level errors are answered inside the secure frame. It
// answers TN+1 to a command's TN and accepts only TNs above the last one.
//
// Fault injection (Arm) lets tests lose an answer after a write (Without Encryption,
// v2 or DES) was applied, fail a command before it is applied, or answer late; the delay goes through
// Settings.Sleep, so tests record it instead of sleeping.
//
// # Caveats
//
//   - A card without AES keys does not know Request Service v2 or Authentication1 v2
//     (no answer), one without a DES system key does not know Authentication1. Only
//     operation parameter 00 is answered, and at most 16 nodes.
//   - Request Service v2 reports FFFF for a node without an AES key (and DES versions,
//     identifier 41, only when the layout holds DES keys); Request Response reports
//     mode 1 after Authentication1 (v2) and 2 in a session; Reset Mode ends it.
//   - The challenges come from Settings.Rand (crypto/rand by default).
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
