package pgstore

import (
	"net/url"
	"strings"
)

// Redact gives a store URL without its password, for messages and logs;
// a string that does not parse as a URL is withheld whole.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a store URL that does not parse)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// hasParam reports whether the URL's query sets key.
func hasParam(raw, key string) bool {
	_, query, ok := strings.Cut(raw, "?")
	if !ok {
		return false
	}
	q, err := url.ParseQuery(query)
	return err == nil && q.Has(key)
}
