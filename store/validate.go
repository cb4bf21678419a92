package store

import (
	"fmt"
	"strings"
)

// The rules on keys that every backend enforces (see Tx). Backends call
// these so that a key one accepts, the other accepts too.

// CheckKey validates one key: non-empty and without a NUL byte (backends
// join keys with it); else ErrInvalid, naming field.
func CheckKey(field, key string) error {
	if key == "" {
		return fmt.Errorf("store: %s is empty: %w", field, ErrInvalid)
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("store: %s contains a NUL byte: %w", field, ErrInvalid)
	}
	return nil
}

// CheckKeys validates field/key pairs in order and returns the first
// failure.
func CheckKeys(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := CheckKey(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// CheckLimit refuses a negative listing limit (0 means none).
func CheckLimit(limit int) error {
	if limit < 0 {
		return fmt.Errorf("store: limit %d is negative: %w", limit, ErrInvalid)
	}
	return nil
}

// CheckClaim validates a claim: a known kind and a valid id.
func CheckClaim(c Claim) error {
	if c.Kind != ClaimCard && c.Kind != ClaimIDm {
		return fmt.Errorf("store: claim kind %q: %w", c.Kind, ErrInvalid)
	}
	return CheckKey("claim id", c.ID)
}

// CheckSessionQuery validates what every backend needs of a search before
// it walks: the limit, the paging cursor (returned), and the issuer and
// device ids it walks by (the device only with an issuer, as the walk
// uses it).
func CheckSessionQuery(q SessionQuery) (Cursor, error) {
	if err := CheckLimit(q.Limit); err != nil {
		return Cursor{}, err
	}
	var after Cursor
	if q.After != "" {
		var err error
		if after, err = ParseCursor(q.After); err != nil {
			return Cursor{}, err
		}
	}
	if q.IssuerID != "" {
		if err := CheckKey("issuer id", q.IssuerID); err != nil {
			return Cursor{}, err
		}
		if q.DeviceID != "" {
			if err := CheckKey("device id", q.DeviceID); err != nil {
				return Cursor{}, err
			}
		}
	}
	return after, nil
}
