// Package felica is the FeliCa frame codec: builders and parsers for the
// commands tes sends to cards and the responses cards give, in both
// directions, with node codes, block lists and status flags. It does no I/O,
// no cryptography and keeps no state; it imports nothing of the project.
// It is not the virtual card (felica/card executes frames against a card
// image) and not the flow engine that decides which frames to send.
//
// # Basics
//
// Every command and response has a struct with an Append method that appends
// its frame to a caller's buffer (no allocation when the buffer has room) and
// a Parse function. Readers build commands and parse responses; the virtual
// card parses commands and builds responses:
//
//	frame, err := felica.ReadCommand{IDm: idm, Services: svcs, Blocks: blocks}.Append(buf[:0], felica.WithLEN)
//	resp, err := felica.ParseReadResponse(answer, felica.WithLEN, idm)
//
// Framing is chosen per call: WithLEN for packets that start with their LEN
// byte (Android, the Device Gateway API's default), WithoutLEN for packets
// that start at the code (iOS). It is never guessed from the bytes.
//
// PeekCode reads a frame's code to dispatch on; Describe renders any frame as
// one line for traces. Nothing here holds state: every function and method is
// safe to call from many goroutines at once.
//
// # Caveats
//
// Parsed slices of block data (ReadResponse.Data, WriteCommand.Data) alias
// the frame: copy them to keep them after the frame's buffer is reused.
//
// A parse error means a malformed frame. A well-formed error response (a Read
// answered "0C 07 IDm SF1 SF2") parses without error; its Status carries the
// flags, and Status.Err makes an error of them that matches ErrStatus.
//
// Builders check the limits (1..16 services and at most 15 blocks per Read,
// 13 per Write, 1..32 nodes per Request Service, 255 bytes per packet).
// Command parsers do not: they accept any count the bytes can carry, so that
// the card, not the codec, decides which status flags to answer with. Real
// cards often allow fewer blocks per command than the packet size does.
//
// Block list elements are built in the 2-byte form whenever the block number
// is at most 255; the 3-byte form of a small block number parses to the same
// BlockElement, so re-encoding such a frame is not byte-identical.
//
// Responses to a command carry the IDm it was sent to; parsers that take an
// idm reject another one with ErrIDmMismatch. Polling, Authentication2 and
// Authentication2 v2 responses carry no IDm to check, and neither do the
// frames of an authenticated session (Read v2 and Write v2, the DES Read 14
// and Write 16, and their answers).
//
// # Authenticated sessions
//
// The codec frames the secure commands without any key: an AES frame is its
// transaction number, the encrypted payload and the encrypted MAC
// (ReadV2Command, WriteV2Command and their responses); a DES frame is
// ciphertext only (ReadDESCommand, ...). Their plaintexts, once decrypted by
// package felica/secure, are parsed and built by SecureReadRequest,
// SecureWriteRequest, SecureReadReply and SecureWriteReply, the same for AES
// and DES (DES plaintexts arrive padded). Describe shows the clear parts and
// the ciphertext of these frames; it never has the keys to show more.
package felica
