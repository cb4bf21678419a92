package local

import (
	"errors"
	"fmt"
	"net"

	"github.com/gofiber/fiber/v2"
)

// Listening is a fiber app served on a loopback port.
type Listening struct {
	// URL is "http://127.0.0.1:PORT".
	URL  string
	app  *fiber.App
	ln   net.Listener
	done chan error
}

// Listen serves app on a fresh port of 127.0.0.1 until Stop.
func Listen(app *fiber.App) (*Listening, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local: listen: %w", err)
	}
	l := &Listening{URL: "http://" + ln.Addr().String(), app: app, ln: ln, done: make(chan error, 1)}
	go func() { l.done <- app.Listener(ln) }()
	return l, nil
}

// Stop shuts the app down, waiting up to shutdownTimeout for requests in
// flight, and returns when it no longer serves. It closes the listener
// itself: a Shutdown that comes before fasthttp has registered the
// listener (a Stop right after Listen) would otherwise leave it serving for
// ever. Call it once.
func (l *Listening) Stop() error {
	shutdownErr := l.app.ShutdownWithTimeout(shutdownTimeout)
	if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		shutdownErr = errors.Join(shutdownErr, err)
	}
	if err := <-l.done; err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("local: serve %s: %w", l.URL, errors.Join(shutdownErr, err))
	}
	if shutdownErr != nil {
		return fmt.Errorf("local: shut down %s: %w", l.URL, shutdownErr)
	}
	return nil
}
