package tsh

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tes-project/tes/server"
)

// WriteText prints o for a person: per round trip what the device sent,
// what the server answered, and each command with the card's answer,
// decoded; then the result. It is tes sim's output.
func (o Outcome) WriteText(w io.Writer) error {
	p := &printer{w: w}
	for _, rt := range o.RoundTrips {
		p.roundTrip(rt)
	}
	p.line("result: %s", outcomeSummary(o))
	return p.err
}

// printer writes lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) roundTrip(rt RoundTrip) {
	if rt.Paused > 0 {
		p.line("(the device waits %s)", rt.Paused)
	}
	p.line("round trip %d: %s  (HTTP %d, %s)", rt.N, requestSummary(rt.Request), rt.HTTPStatus, milliseconds(rt.Latency))
	p.line("  server: %s", replySummary(rt.Reply))
	if rt.Duplicate != nil {
		p.line("  sent again: %s, responseId %s then %s", replySummary(*rt.Duplicate),
			rt.Reply.ResponseHeader.ResponseID, rt.Duplicate.ResponseHeader.ResponseID)
	}
	for _, ex := range rt.Commands {
		p.line("  %s command %s", ex.CommandID, orHex(ex.CommandText, ex.CommandHex))
		if ex.Answer == nil {
			p.line("  %s answer  none (%s)", strings.Repeat(" ", len(ex.CommandID)), ex.NoAnswer)
			continue
		}
		p.line("  %s answer  %s", strings.Repeat(" ", len(ex.CommandID)), orHex(ex.AnswerText, ex.AnswerHex))
	}
}

func requestSummary(req server.Request) string {
	if len(req.Responses) == 0 {
		parts := []string{"start"}
		for _, f := range []struct{ name, value string }{
			{"operation", req.Operation}, {"issuer", req.IssuerID}, {"card", req.CardID},
			{"purchase", req.PurchaseID}, {"device", req.DeviceID},
		} {
			if f.value != "" {
				parts = append(parts, f.name+" "+f.value)
			}
		}
		if req.CardContents != nil {
			parts = append(parts, "physical card "+req.CardContents.IDm)
		}
		return strings.Join(parts, ", ")
	}
	s := fmt.Sprintf("%d %s", len(req.Responses), plural(len(req.Responses), "response"))
	if req.StatusCode != nil {
		s += fmt.Sprintf(", device status %d", *req.StatusCode)
	}
	if req.StatusMessage != "" {
		s += " (" + req.StatusMessage + ")"
	}
	return s
}

func replySummary(r server.Reply) string {
	h := r.ResponseHeader
	s := fmt.Sprintf("status %d %s", h.StatusCode, h.StatusMessage)
	if h.SessionID != "" {
		s += ", session " + h.SessionID
	}
	if r.Balance != nil {
		s += fmt.Sprintf(", balance %d", *r.Balance)
	}
	if r.CardAccountID != "" {
		s += ", cardAccountId " + r.CardAccountID
	}
	if len(r.Commands) == 0 {
		return s + ", end"
	}
	return s + fmt.Sprintf(", %d %s", len(r.Commands), plural(len(r.Commands), "command"))
}

func outcomeSummary(o Outcome) string {
	s := fmt.Sprintf("status %d %s", o.StatusCode, o.StatusMessage)
	if o.Balance != nil {
		s += fmt.Sprintf(", balance %d", *o.Balance)
	}
	if o.CardAccountID != "" {
		s += ", cardAccountId " + o.CardAccountID
	}
	return s + fmt.Sprintf(", %d round %s", len(o.RoundTrips), plural(len(o.RoundTrips), "trip"))
}

func orHex(text, hex string) string {
	if text != "" {
		return text
	}
	return hex
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func milliseconds(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
