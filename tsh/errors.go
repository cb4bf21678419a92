package tsh

import "errors"

// Errors returned by this package, grouped by when they occur. Callers test
// them with errors.Is; the returned errors wrap them with the details.
var (
	// ErrConfig is returned by NewClient, NewAdmin and Run when they are
	// given something they cannot work with (a bad URL, an unknown endpoint,
	// a fault that makes no sense), and by ParseFault for a bad fault.
	ErrConfig = errors.New("tsh: invalid configuration")

	// ErrTransport is returned by Run when a request got no HTTP answer
	// (connection refused, timeout) and by the Admin methods likewise.
	ErrTransport = errors.New("tsh: transport failure")

	// ErrBadReply is returned by Run when an answer is not a Device Gateway
	// reply: not JSON, or a command that is not hex.
	ErrBadReply = errors.New("tsh: bad reply")

	// ErrDuplicateDisagrees is returned by Run when a request sent twice got
	// replies that differ in more than the responseId and timestamp, or
	// whose responseIds are equal.
	ErrDuplicateDisagrees = errors.New("tsh: duplicate request got a different reply")

	// ErrTooManyRoundTrips is returned by Run when the server keeps sending
	// commands past Options.MaxRoundTrips.
	ErrTooManyRoundTrips = errors.New("tsh: too many round trips")

	// ErrAdmin is returned by the Admin methods when the admin API answers
	// with an HTTP error status.
	ErrAdmin = errors.New("tsh: admin API refused")
)
