package flow

// Status codes of the Device Gateway API (CONTRACT.md §1.3). Flows, the
// engine and the server all speak them; the numbers are the wire values.
const (
	StatusOK                  = 0
	StatusMissingParameter    = 111
	StatusBadFormat           = 112
	StatusUnknownIssuer       = 113
	StatusUnknownDevice       = 117
	StatusUnknownSession      = 118
	StatusUnknownCard         = 119
	StatusBlacklisted         = 159
	StatusDeleted             = 160
	StatusInsufficientBalance = 162
	StatusNotEligible         = 163
	StatusAlreadyProvisioned  = 167
	StatusUnsupportedSystem   = 172
	StatusUnsupportedService  = 173
	StatusInvalidAreaData     = 177
	StatusInStation           = 178
	StatusExpired             = 191
	StatusReaderModeExceeded  = 192
	StatusDeviceUnreachable   = 221
	StatusDeviceError         = 231
	StatusDeviceOutOfMemory   = 232
	StatusOperationOngoing    = 321
	StatusTTLExpired          = 322
	StatusOperationIncomplete = 323
	StatusOperationFailed     = 911
	StatusUnexpectedError     = 921
)

var statusMessages = map[int]string{
	StatusOK:                  "OK",
	StatusMissingParameter:    "Missing mandatory parameter",
	StatusBadFormat:           "Bad parameter format",
	StatusUnknownIssuer:       "Unknown issuer",
	StatusUnknownDevice:       "Unknown device",
	StatusUnknownSession:      "Unknown session",
	StatusUnknownCard:         "Unknown virtual card",
	StatusBlacklisted:         "Card is blacklisted",
	StatusDeleted:             "Card is deleted",
	StatusInsufficientBalance: "Card has unsufficient balance",
	StatusNotEligible:         "Card product not eligible",
	StatusAlreadyProvisioned:  "Card is already provisioned",
	StatusUnsupportedSystem:   "Invalid card, unsupported system code",
	StatusUnsupportedService:  "Invalid card, unsupported service",
	StatusInvalidAreaData:     "Invalid card, invalid area data",
	StatusInStation:           "Invalid card, card status is in-station",
	StatusExpired:             "Card is expired",
	StatusReaderModeExceeded:  "Reader mode attempt exceeded allowed threshold",
	StatusDeviceUnreachable:   "Device or wallet server not accessible",
	StatusDeviceError:         "Device unexpected error",
	StatusDeviceOutOfMemory:   "Device out of memory error",
	StatusOperationOngoing:    "Operation already on-going for this device",
	StatusTTLExpired:          "Time to live of the operation expired",
	StatusOperationIncomplete: "Operation incomplete",
	StatusOperationFailed:     "Operation failed",
	StatusUnexpectedError:     "Unexpected server error",
}

// StatusMessage returns the contract's text for a status code, and false for
// a code the contract does not list.
func StatusMessage(code int) (string, bool) {
	m, ok := statusMessages[code]
	return m, ok
}

// IsDeviceFailure reports whether code is one the TSH reports for a device
// that failed to run a batch.
func IsDeviceFailure(code int) bool {
	return code == StatusDeviceUnreachable || code == StatusDeviceError || code == StatusDeviceOutOfMemory
}
