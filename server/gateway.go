package server

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
)

// GatewayBasePath is where the Device Gateway API lives (CONTRACT.md §1).
const GatewayBasePath = "/tes/devicegtwapi/1/0"

// gatewayEndpoints are the three operations, in the contract's order.
var gatewayEndpoints = []flow.Endpoint{flow.EndpointCard, flow.EndpointPark, flow.EndpointReaderMode}

// endpointUnknown labels replies to paths that are no endpoint.
const endpointUnknown = "unknown"

func (s *Server) newGateway(cfg Config) *fiber.App {
	fc := fiberConfig(cfg, "tes-gateway", s.gatewayError)
	// The TSH calls exact paths; a near miss is a 404, not a guess.
	fc.CaseSensitive = true
	// Every reply is encoded here: goccy/go-json writes the bytes
	// encoding/json writes (FuzzReplyMatchesEncodingJSON) in less time.
	// The admin app keeps encoding/json, off the hot path.
	fc.JSONEncoder = json.Marshal
	app := fiber.New(fc)
	app.Use(s.observeGateway, s.recoverPanics)
	api := app.Group(GatewayBasePath)
	for _, ep := range gatewayEndpoints {
		api.Post("/"+string(ep), s.handleGateway(ep))
	}
	return app
}

// handleGateway answers one Device Gateway call: refused by validation, or
// as the engine decides.
func (s *Server) handleGateway(endpoint flow.Endpoint) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		// The raw body: c.Body would inflate a compressed one without a limit.
		req, refused := decodeRequest(endpoint, c.Get(headerActorID), c.Request().Body(), s.actors, s.rawRequests)
		reply := engine.Reply{}
		if refused != nil {
			reply.StatusCode = refused.code
		} else {
			reply = s.engine.Handle(ctx, req)
		}
		s.metrics.countReply(req.IssuerID, reply.Operation, string(endpoint), reply.StatusCode)
		responseID, err := s.sendReply(c, fiber.StatusOK, reply)
		switch {
		case refused != nil:
			s.log.LogAttrs(ctx, slog.LevelInfo, "gateway request refused",
				slog.String("endpoint", string(endpoint)),
				slog.String("responseId", responseID),
				slog.Int("statusCode", refused.code),
				slog.String("field", refused.field),
				slog.String("reason", refused.reason))
		case s.log.Enabled(ctx, slog.LevelDebug):
			// Debug level only: it names the card in full.
			s.log.LogAttrs(ctx, slog.LevelDebug, "gateway request",
				slog.String("endpoint", string(endpoint)),
				slog.String("responseId", responseID),
				slog.String("sessionId", reply.SessionID),
				slog.String("issuerId", req.IssuerID),
				slog.String("deviceId", req.DeviceID),
				slog.String("cardId", req.CardID),
				slog.String("operation", req.Operation),
				slog.Int("responses", len(req.Responses)),
				slog.Int("statusCode", reply.StatusCode),
				slog.Int("commands", len(reply.Commands)))
		}
		return err
	}
}

// sendReply writes reply as the wire's JSON with the given HTTP status. It
// returns the responseId it made.
func (s *Server) sendReply(c *fiber.Ctx, httpStatus int, reply engine.Reply) (string, error) {
	responseID := uuid.NewString()
	body := wireReply{
		ResponseHeader: wireResponseHeader{
			ResponseID:    responseID,
			SessionID:     reply.SessionID,
			StatusCode:    reply.StatusCode,
			StatusMessage: statusMessage(reply),
			Timestamp:     s.clock.Now().UTC().Format(timestampLayout),
		},
		Commands:      make([]wireCommand, 0, len(reply.Commands)),
		Balance:       reply.Balance,
		CardAccountID: reply.CardAccountID,
	}
	for _, cmd := range reply.Commands {
		body.Commands = append(body.Commands, wireCommand{
			CommandID: cmd.ID,
			Command:   upperHex(cmd.Frame),
		})
	}
	return responseID, c.Status(httpStatus).JSON(body)
}

// statusMessage is the contract's text for the reply's code; a code the
// contract does not list keeps the engine's own message.
func statusMessage(reply engine.Reply) string {
	if text, ok := flow.StatusMessage(reply.StatusCode); ok {
		return text
	}
	if reply.StatusMessage != "" {
		return reply.StatusMessage
	}
	return "Unknown status"
}

// gatewayError answers in the gateway's JSON whatever did not end in a
// reply: routing misses (their HTTP code, status 112), requests fasthttp
// refused before routing such as a body over the limit (HTTP 200, 112: a
// validation failure), and faults (HTTP 500, 921).
func (s *Server) gatewayError(c *fiber.Ctx, err error) error {
	httpStatus, code := http.StatusInternalServerError, flow.StatusUnexpectedError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch {
		case fe.Code == http.StatusNotFound || fe.Code == http.StatusMethodNotAllowed:
			httpStatus, code = fe.Code, flow.StatusBadFormat
		case fe.Code >= 400 && fe.Code < 500:
			httpStatus, code = http.StatusOK, flow.StatusBadFormat
		}
	}
	level := slog.LevelInfo
	if httpStatus == http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.UserContext(), level, "gateway request failed",
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("httpStatus", httpStatus),
		slog.Int("statusCode", code),
		slog.String("error", err.Error()))
	s.metrics.countReply("", "", gatewayEndpointLabel(c.Path()), code)
	_, sendErr := s.sendReply(c, httpStatus, engine.Reply{StatusCode: code})
	return sendErr
}

// observeGateway times every gateway request. It runs the error handler
// itself so that the time includes the answer to a failed request.
func (s *Server) observeGateway(c *fiber.Ctx) error {
	started := time.Now()
	if err := c.Next(); err != nil {
		if handlerErr := s.gatewayError(c, err); handlerErr != nil {
			return handlerErr
		}
	}
	s.metrics.observeLatency(gatewayEndpointLabel(c.Path()), time.Since(started))
	return nil
}

// gatewayEndpointLabel names the endpoint of a path for metrics, or
// "unknown", so that arbitrary paths cannot grow the label set.
func gatewayEndpointLabel(path string) string {
	name, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), GatewayBasePath+"/")
	if !ok {
		return endpointUnknown
	}
	for _, ep := range gatewayEndpoints {
		if string(ep) == name {
			// The constant, not name: path is fiber's buffer, reused after
			// the request, and the label outlives it.
			return string(ep)
		}
	}
	return endpointUnknown
}

// upperHex is how frames leave tes: hex in upper case.
func upperHex(frame []byte) string {
	return strings.ToUpper(hex.EncodeToString(frame))
}
