package card

import "errors"

// Errors returned by this package, grouped by when they occur. Callers test them with
// errors.Is; the returned errors wrap them with the details.
var (
	// ErrInvalidCatalog is returned by Load, LoadFile and New when a layout or an image
	// breaks a rule (bad hex, a code that does not fit its service, a block list longer
	// than its service, unknown JSON keys, ...).
	ErrInvalidCatalog = errors.New("card: invalid catalogue")

	// ErrNoAnswer is returned by Transceive when the card stays silent: a frame for
	// another IDm, an unknown or unsupported command, a malformed frame, or an armed
	// fault that drops the answer. The device would report "no response".
	ErrNoAnswer = errors.New("card: no answer")

	// ErrUnknownService is returned by Block when the service is neither a name nor a
	// code of the layout; ErrBlockOutOfRange when the index is past its block count.
	ErrUnknownService  = errors.New("card: unknown service")
	ErrBlockOutOfRange = errors.New("card: block index out of range")
)
