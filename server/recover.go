package server

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/gofiber/fiber/v2"
)

// recoverPanics turns a panic below it into an error for the app's error
// handler (HTTP 500, JSON), and logs the stack.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.LogAttrs(c.UserContext(), slog.LevelError, "panic in handler",
				slog.String("method", c.Method()),
				slog.String("path", c.Path()),
				slog.String("panic", fmt.Sprint(r)),
				slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("server: panic in handler: %v", r)
		}
	}()
	return c.Next()
}
