package store

import (
	"encoding/base64"
	"fmt"
	"time"
)

// Cursor marks where a page of a listing ended: the last item's time and
// id. Backends hand it out encoded (Encode) as the opaque next of a page
// and take it back through ParseCursor, so every backend pages the same way.
type Cursor struct {
	At time.Time
	ID string
}

// Encode gives the cursor as an opaque, URL-safe string.
func (c Cursor) Encode() string {
	b, err := c.At.UTC().MarshalBinary()
	if err != nil {
		// Only zone offsets that are not whole minutes fail; UTC has none.
		return ""
	}
	b = append([]byte{byte(len(b))}, b...)
	return base64.RawURLEncoding.EncodeToString(append(b, c.ID...))
}

// ParseCursor reads what Encode wrote; anything else is ErrInvalid.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || int(b[0]) > len(b)-1 {
		return Cursor{}, fmt.Errorf("store: cursor %q: %w", s, ErrInvalid)
	}
	n := int(b[0])
	var c Cursor
	if err := c.At.UnmarshalBinary(b[1 : 1+n]); err != nil {
		return Cursor{}, fmt.Errorf("store: cursor %q: %w", s, ErrInvalid)
	}
	c.ID = string(b[1+n:])
	return c, nil
}

// Before reports whether an item at t with id comes after the cursor in a
// newest-first listing: strictly older, or as old with a smaller id.
func (c Cursor) Before(t time.Time, id string) bool {
	return t.Before(c.At) || (t.Equal(c.At) && id < c.ID)
}
