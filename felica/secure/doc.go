// Package secure holds the cryptography of FeliCa's authenticated access, as
// FELICA-SECURE.md describes it: AES mutual authentication (Authentication1
// v2 / 2 v2) and secure messaging (Read v2, Write v2), and the legacy DES
// authentication and its encrypted Read and Write. It is primitives only: it
// keeps no keys and no state between calls, and imports nothing of the
// project but package felica (for IDm, codes and the parsed frames).
//
// # Basics
//
// AES: AESGroupKey chains the node keys of an Authentication1 v2 node list;
// NewAESAuth mixes in the card's individualisation code and IDm into α and β.
// The reader sends Challenge1A, checks the card's answer with CheckAuth1 and
// gets Challenge 2B and the AESSession; the card answers with AnswerAuth1 and
// checks Challenge 2B with CheckChallenge2B. AESSession.Seal and Open encrypt
// and authenticate a secure frame's plaintext for its code and transaction
// number (OFB and a CMAC truncated to 8 bytes, under Kenc and Kmac).
//
// DES: DESGroupKey, DESUserKey and NewDESAuth derive the keys, DESAuth and
// DESSession play the same roles with 2-key 3DES challenges and a DES-CBC
// sealing whose MAC chains the plaintext blocks as keys.
//
// Frames are built and parsed with package felica; this package fills in the
// challenges and the ciphertext.
//
// # Caveats
//
//   - Key types (AESKey, DESKey) and the structs that hold keys (AESAuth,
//     AESSession, DESAuth, DESSession) print as "[redacted]" under every fmt
//     verb, slog and JSON; their bytes are still reachable by indexing, so
//     callers that keep them decide who may see them (the SAM).
//   - MACs and challenges are compared in constant time (crypto/subtle).
//   - CMAC is written here (cmac.go, RFC 4493, tested with the RFC's
//     examples): the standard library has none, and one AES-128 CMAC over at
//     most 255 bytes does not justify a dependency.
//   - Transaction numbers are the caller's: Seal and Open bind a frame to its
//     code and TN, but judging whether a TN is fresh is the session's job.
//   - DES Open returns the payload with its padding: the padding (k bytes of
//     value k, none when aligned) cannot be told from data; the plaintext
//     parsers of package felica take it into account.
//   - Nothing in [M] or [R] is published for α, β, challenges, session keys
//     or DES; the full-exchange vectors come from our reference
//     implementation (FELICA-SECURE.md) and are tested here byte for byte.
//
// Every function is safe for concurrent use.
package secure
