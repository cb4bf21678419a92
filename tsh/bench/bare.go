package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/tsh"
)

// ErrNothingCaptured: the baseline has no successful operation to replay.
var ErrNothingCaptured = errors.New("bench: no successful operation to replay")

// Bare is a fiber server that does the least a Device Gateway server can:
// it decodes each request and answers the pre-encoded reply that the real
// server gave at the same point of the same operation, so that the same
// devices make the same number of round trips with replies of the same
// size. It keeps no state. Safe for concurrent use.
type Bare struct {
	// URL is "http://127.0.0.1:PORT".
	URL string

	listening *node.Listening
	closeOnce sync.Once
	closeErr  error
}

// bareScript is one operation's replies, in round-trip order, and which
// reply follows the responses to a command id.
type bareScript struct {
	replies [][]byte
	next    map[string]int // commandId of reply k's first command → k+1
}

// StartBare serves the captured operations (tsh.Outcome by operation name)
// on a fresh loopback port.
func StartBare(captured map[string]tsh.Outcome) (*Bare, error) {
	if len(captured) == 0 {
		return nil, ErrNothingCaptured
	}
	scripts := map[string]*bareScript{}
	for name, out := range captured {
		s := &bareScript{next: map[string]int{}}
		for k, rt := range out.RoundTrips {
			body, err := json.Marshal(rt.Reply)
			if err != nil {
				return nil, fmt.Errorf("bench: encode captured reply: %w", err)
			}
			s.replies = append(s.replies, body)
			if len(rt.Reply.Commands) > 0 {
				s.next[rt.Reply.Commands[0].CommandID] = k + 1
			}
		}
		scripts[name] = s
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	app.Post(server.GatewayBasePath+"/:endpoint", func(c *fiber.Ctx) error {
		var req server.Request
		if err := json.Unmarshal(c.Body(), &req); err != nil {
			return fiber.NewError(http.StatusBadRequest, err.Error())
		}
		s, ok := scripts[req.Operation]
		if !ok {
			return fiber.NewError(http.StatusNotFound, "no captured operation "+req.Operation)
		}
		k := 0
		if len(req.Responses) > 0 {
			k = s.next[req.Responses[0].CommandID]
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(s.replies[min(k, len(s.replies)-1)])
	})
	l, err := node.Listen(app)
	if err != nil {
		return nil, fmt.Errorf("bench: bare server: %w", err)
	}
	return &Bare{URL: l.URL, listening: l}, nil
}

// Close stops the server. Later calls return the first call's error.
func (b *Bare) Close() error {
	b.closeOnce.Do(func() {
		b.closeErr = b.listening.Stop(node.DefaultDrain)
	})
	return b.closeErr
}
