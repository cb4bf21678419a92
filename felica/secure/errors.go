package secure

import "errors"

// Errors returned by this package; callers test them with errors.Is. None of
// them carries key material in its message.
var (
	// ErrBadKey: a key written in hex has the wrong length or is not hex.
	ErrBadKey = errors.New("secure: bad key")

	// ErrAuthFailed: the other side's challenge answer is wrong (Challenge 1B on
	// the reader side, 2B on the card side): a wrong node key, individualisation
	// code or system/area/service key, or a forged answer.
	ErrAuthFailed = errors.New("secure: mutual authentication failed")

	// ErrBadMAC: a sealed payload's MAC does not verify under the session keys.
	ErrBadMAC = errors.New("secure: MAC does not verify")

	// ErrMalformed: a sealed payload is too short or not a whole number of
	// cipher blocks, or a value cannot be sealed (too long for one frame).
	ErrMalformed = errors.New("secure: malformed sealed payload")
)
