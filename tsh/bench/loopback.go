package bench

import (
	"fmt"
	"net"
	"net/url"
)

// RequireLoopback refuses a URL whose host is not a loopback address or
// "localhost": the bench sends load only to this machine.
func RequireLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: url %q: %w", ErrConfig, raw, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: url %q: the bench targets loopback addresses only (127.0.0.0/8, ::1, localhost)", ErrConfig, raw)
}
