// Package sam is the secure access module: what a flow calls to authenticate to
// a card and to seal and open the frames of a secure session, without ever
// holding a key. Keys live behind the SAM interface; flows (and the Lua module
// over them) pass byte slices and felica types in and get frames out.
//
// # Basics
//
// The SAM interface follows a flow's steps: BeginAuth (issuer, IDm, node list,
// key versions from Request Service v2) returns the Authentication1 v2 command;
// ContinueAuth checks the card's answer and returns the Authentication2 v2
// command; FinishAuth checks the last answer and opens the session; SealRead and
// SealWrite make Read v2 / Write v2 commands; Open checks and decrypts their
// answers. Every call takes the session's state and returns the next one.
//
// The state is an opaque, sealed byte string (AES-256-GCM): it holds α, β and R1
// between the two authentication steps, then the session keys, TID, C3C, the
// transaction number and the commands sealed but not yet answered. The caller
// stores it with the session between HTTP calls and gives it back; a tampered
// or foreign state fails with ErrBadState. The store therefore never holds a key
// in the clear.
//
// Software is the software SAM. Its key store is a directory with one
// <issuerId>.json per issuer in the format of CONTRACT.md section 5; a file
// readable by group or others is refused. Reload reads the directory again and
// swaps the keys whole (a failed reload keeps the old ones); Load swaps in a
// KeyStore built by the caller. Dropped keys are zeroed. TestKeys (or
// Config.TestKeys) is the built-in DEMOAES key file of published TEST KEYS from
// cards/demo-aes.json, for tests and demonstrations only.
//
// Errors are the sentinels of errors.go: ErrUnknownKeyVersion (status 177) when
// the store lacks a node key at the card's version, ErrNotAuthentic (status 911)
// when the card's answer does not authenticate (wrong challenge, bad MAC, an
// answer to no sealed command), and the others for bad requests, malformed
// answers, bad states and the key store.
//
// # The sealing key: why a --seal-key file
//
// The state is sealed under a key derived with HKDF-SHA256 from the sealing key
// (Config.SealKey, read by LoadSealKeyFile from the --seal-key file: 32 bytes or
// 64 hex digits, mode 600). We did not derive it from the key store: the store
// changes on every issuer reload (a new card's individualisation code, a new key
// version), which would invalidate every live session, and a key derived from
// keys that are published for DEMOAES would be public. A separate file can be
// rotated on its own and given to every instance that must open the same states.
// Without one, the SAM draws a random key at start: states then do not survive a
// restart. tes serve never leaves it at that when it can help it: the node
// assembler reads --seal-key, else keeps DATA/seal.key beside the embedded store
// (created on the first start), so that a restart resumes an authenticated
// session; a shared store with a key store requires --seal-key (docs/keys.md).
//
// # Caveats
//
//   - AES only: the DES authentication (Authentication1/2, Read/Write 14/16) is
//     in felica/secure and the virtual card, not yet behind this interface, and
//     the key file format has no DES keys.
//   - Open answers in the order the commands were sealed. An answer is paired
//     with the sealed command of its kind whose TN is the greatest below its own
//     (the card answers TN+1; commands of one batch are 2 apart); earlier
//     commands without an answer are given up, and an answer opens only once.
//     After TN FFFD the session is exhausted: authenticate again.
//   - A state does not expire by itself; the engine's session TTL bounds it, and
//     the card refuses a stale TN anyway.
//   - Key material never prints: Software and KeyStore print only issuer ids,
//     key types redact themselves (felica/secure), and errors name fields, never
//     values. Keys are copied out of the store under a read lock and zeroed
//     after use; the Go runtime may still leave copies it moved.
//
// # A hardware SAM or an HSM
//
// Another implementation of SAM replaces Software without touching flows:
//
//   - A hardware SAM (a FeliCa SAM module or a secure element) holds the
//     node keys and individualisation codes itself and offers the same steps
//     (begin, check answer 1, check answer 2, seal, open). Its state is the
//     module's own session handle plus what the module asks the host to keep;
//     seal that under the SAM's sealing key like the software states, so that the
//     store still keeps only opaque bytes. The module's errors map onto the
//     sentinels (unknown key version → ErrUnknownKeyVersion, authentication
//     failure or MAC error → ErrNotAuthentic).
//   - An HSM service (PKCS#11 or a network KMS) keeps the node keys as
//     non-extractable AES keys and computes the group key chain and α/β inside
//     (AES-ECB encryptions under the node keys); the session keys derived from R2
//     may then live in the sealed state as here, or stay in the HSM as session
//     objects named by a handle in the state. Calls carry ctx so that a remote
//     SAM honours the request's deadline.
//   - Reload becomes "reconnect and re-read the key plan"; Load is specific to
//     Software and is not part of the interface.
//
// Every method of Software is safe for concurrent use.
package sam
