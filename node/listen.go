package node

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Listening is a fiber app served on a listener.
type Listening struct {
	// URL is "http://HOST:PORT" ("https://…" behind TLS).
	URL    string
	app    *fiber.App
	ln     net.Listener
	exited chan struct{} // closed when app.Listener has returned
	err    error         // what app.Listener returned; read after exited
}

// Listen serves app on a fresh port of 127.0.0.1 until Stop.
func Listen(app *fiber.App) (*Listening, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("node: listen: %w", err)
	}
	return Serve(app, ln, "http"), nil
}

// Serve serves app on ln until Stop; scheme ("http" or "https") only
// makes the URL.
func Serve(app *fiber.App, ln net.Listener, scheme string) *Listening {
	l := &Listening{URL: scheme + "://" + ln.Addr().String(), app: app, ln: ln, exited: make(chan struct{})}
	go func() {
		defer close(l.exited)
		l.err = app.Listener(ln)
	}()
	return l
}

// Exited is closed when the app stopped serving, by Stop or by a failure
// of its listener; Err then says why.
func (l *Listening) Exited() <-chan struct{} { return l.exited }

// Err is what ended the serving, once Exited is closed: nil or
// net.ErrClosed after Stop.
func (l *Listening) Err() error {
	<-l.exited
	return l.err
}

// Addr is the address the app listens on.
func (l *Listening) Addr() net.Addr { return l.ln.Addr() }

// Stop shuts the app down, waiting up to drain for requests in flight,
// and returns when it no longer serves. It closes the listener itself: a
// Shutdown that comes before fasthttp has registered the listener (a Stop
// right after Listen) would otherwise leave it serving for ever. Call it
// once.
func (l *Listening) Stop(drain time.Duration) error {
	shutdownErr := l.app.ShutdownWithTimeout(drain)
	if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		shutdownErr = errors.Join(shutdownErr, err)
	}
	if err := l.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("node: serve %s: %w", l.URL, errors.Join(shutdownErr, err))
	}
	if shutdownErr != nil {
		return fmt.Errorf("node: shut down %s: %w", l.URL, shutdownErr)
	}
	return nil
}
