package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones of reports, also in a minimal container image

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/store"
)

// Report is an issuer's outstanding value and purchases at a record date
// (GET /admin/v1/issuers/{issuerId}/report).
//
// The balances are the ledger's as the report is made (GeneratedAt): the
// server keeps each card's last known balance, not its history, so a report
// meant for a record date is made at that date (a scheduled call at the
// end of the day). AppliedAfterAt is what purchases moved between At and
// GeneratedAt, to reconcile a report made late: outstanding at At is
// about Total minus AppliedAfterAt.Net, spending on the cards aside, which
// the server learns only when a card is read.
type Report struct {
	IssuerID    string    `json:"issuerId"`
	At          time.Time `json:"at"`
	TimeZone    string    `json:"timeZone"`
	GeneratedAt time.Time `json:"generatedAt"`

	Outstanding Outstanding `json:"outstanding"`

	// Uncertain are the purchases whose money write was sent and not
	// settled: the card may or may not hold their amount.
	Uncertain       []PurchaseView `json:"uncertain"`
	UncertainTopUp  int64          `json:"uncertainTopUpAmount"`
	UncertainRefund int64          `json:"uncertainRefundAmount"`

	// AppliedPerDay are the purchases applied on each day (in TimeZone) up
	// to At, oldest first; days without any are left out.
	AppliedPerDay  []DayTotals `json:"appliedPerDay"`
	AppliedAfterAt DayTotals   `json:"appliedAfterAt"`
}

// Outstanding is the value the issuer owes its card holders. A parked
// card counts with its parked balance, not its card balance (the same
// money); pending accounts (a transfer sent, not confirmed) are shown
// beside the total, not in it.
type Outstanding struct {
	Cards                  int   `json:"cards"`
	CardBalances           int64 `json:"cardBalances"`
	CardsWithoutBalance    int   `json:"cardsWithoutBalance"`
	ParkedCards            int   `json:"parkedCards"`
	ParkedBalances         int64 `json:"parkedBalances"`
	Accounts               int   `json:"accounts"`
	AccountBalances        int64 `json:"accountBalances"`
	PendingAccounts        int   `json:"pendingAccounts"`
	PendingAccountBalances int64 `json:"pendingAccountBalances"`
	Total                  int64 `json:"total"`
}

// DayTotals are the purchases applied in one day (or one period).
type DayTotals struct {
	Date         string `json:"date,omitempty"`
	TopUps       int    `json:"topUps"`
	TopUpAmount  int64  `json:"topUpAmount"`
	Refunds      int    `json:"refunds"`
	RefundAmount int64  `json:"refundAmount"`
	Net          int64  `json:"net"`
}

func (d *DayTotals) add(p store.Purchase) {
	switch p.Kind {
	case store.PurchaseRefund:
		d.Refunds++
		d.RefundAmount += p.Amount
		d.Net -= p.Amount
	default:
		d.TopUps++
		d.TopUpAmount += p.Amount
		d.Net += p.Amount
	}
}

// ReportParams are a report's record date and time zone as the admin API
// takes them: at is RFC 3339, or a date YYYY-MM-DD meaning the end of that
// day in tz; empty: now. tz is an IANA zone name; empty: UTC.
type ReportParams struct {
	At string
	TZ string
}

// Report computes an issuer's report.
func (a *API) Report(ctx context.Context, issuerID string, p ReportParams) (Report, error) {
	if reason := checkText(issuerID, 1, maxIssuerID); reason != "" {
		return Report{}, badInput("issuerId: " + reason)
	}
	loc := time.UTC
	if p.TZ != "" {
		var err error
		if loc, err = time.LoadLocation(p.TZ); err != nil || strings.ContainsAny(p.TZ, "\x00") {
			return Report{}, badInput("tz: not a time zone name such as Asia/Tokyo")
		}
	}
	now := a.s.clock.Now()
	at := now
	switch {
	case p.At == "":
	case len(p.At) == len(time.DateOnly):
		d, err := time.ParseInLocation(time.DateOnly, p.At, loc)
		if err != nil {
			return Report{}, badInput("at: must be RFC 3339 or a date YYYY-MM-DD")
		}
		at = d.AddDate(0, 0, 1) // the end of that day
	default:
		t, err := time.Parse(time.RFC3339Nano, p.At)
		if err != nil {
			return Report{}, badInput("at: must be RFC 3339 or a date YYYY-MM-DD")
		}
		at = t
	}
	r := Report{IssuerID: issuerID, At: at.In(loc), TimeZone: loc.String(), GeneratedAt: now.In(loc),
		Uncertain: []PurchaseView{}, AppliedPerDay: []DayTotals{}}
	days := map[string]*DayTotals{}
	err := a.s.store.View(ctx, func(tx store.Tx) error {
		o := &r.Outstanding
		err := tx.EachCard(issuerID, func(c store.Card) error {
			o.Cards++
			switch {
			case c.ParkedBalance != nil:
				o.ParkedCards++
				o.ParkedBalances += *c.ParkedBalance
			case c.LastKnownBalance != nil:
				o.CardBalances += *c.LastKnownBalance
			default:
				o.CardsWithoutBalance++
			}
			return ctx.Err()
		})
		if err != nil {
			return fmt.Errorf("cards: %w", err)
		}
		err = tx.EachAccount(issuerID, func(acc store.Account) error {
			if acc.Pending {
				o.PendingAccounts++
				o.PendingAccountBalances += acc.Balance
			} else {
				o.Accounts++
				o.AccountBalances += acc.Balance
			}
			return ctx.Err()
		})
		if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		o.Total = o.CardBalances + o.ParkedBalances + o.AccountBalances
		uncertain, err := tx.Purchases(issuerID, store.PurchaseUncertain, 0)
		if err != nil {
			return fmt.Errorf("uncertain purchases: %w", err)
		}
		for _, p := range uncertain {
			r.Uncertain = append(r.Uncertain, viewPurchase(p))
			if p.Kind == store.PurchaseRefund {
				r.UncertainRefund += p.Amount
			} else {
				r.UncertainTopUp += p.Amount
			}
		}
		applied, err := tx.Purchases(issuerID, store.PurchaseApplied, 0)
		if err != nil {
			return fmt.Errorf("applied purchases: %w", err)
		}
		for _, p := range applied {
			if !p.UpdatedAt.Before(at) {
				r.AppliedAfterAt.add(p)
				continue
			}
			day := p.UpdatedAt.In(loc).Format(time.DateOnly)
			d, ok := days[day]
			if !ok {
				d = &DayTotals{Date: day}
				days[day] = d
			}
			d.add(p)
		}
		return nil
	})
	if err != nil {
		return Report{}, storeError(err, "report")
	}
	for _, d := range days {
		r.AppliedPerDay = append(r.AppliedPerDay, *d)
	}
	slices.SortFunc(r.AppliedPerDay, func(a, b DayTotals) int { return strings.Compare(a.Date, b.Date) })
	return r, nil
}

// CSV writes the report as CSV: one row per figure, with a record column
// naming what the row is (outstanding, uncertain, applied, appliedAfterAt).
func (r Report) CSV() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	i := func(n int) string { return strconv.Itoa(n) }
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	rows := [][]string{
		{"record", "issuerId", "at", "date", "what", "purchaseId", "cardId", "count", "amount"},
	}
	at := r.At.Format(time.RFC3339)
	row := func(record, date, what, purchaseID, cardID, count, amount string) {
		rows = append(rows, []string{record, r.IssuerID, at, date, what, purchaseID, cardID, count, amount})
	}
	o := r.Outstanding
	row("outstanding", "", "cardBalances", "", "", i(o.Cards-o.ParkedCards-o.CardsWithoutBalance), i64(o.CardBalances))
	row("outstanding", "", "cardsWithoutBalance", "", "", i(o.CardsWithoutBalance), "0")
	row("outstanding", "", "parkedBalances", "", "", i(o.ParkedCards), i64(o.ParkedBalances))
	row("outstanding", "", "accountBalances", "", "", i(o.Accounts), i64(o.AccountBalances))
	row("outstanding", "", "total", "", "", "", i64(o.Total))
	row("outstanding", "", "pendingAccountBalances", "", "", i(o.PendingAccounts), i64(o.PendingAccountBalances))
	for _, p := range r.Uncertain {
		row("uncertain", "", string(p.Kind), p.PurchaseID, p.CardID, "1", i64(p.Amount))
	}
	for _, d := range r.AppliedPerDay {
		row("applied", d.Date, "TOPUP", "", "", i(d.TopUps), i64(d.TopUpAmount))
		row("applied", d.Date, "REFUND", "", "", i(d.Refunds), i64(d.RefundAmount))
	}
	a := r.AppliedAfterAt
	row("appliedAfterAt", "", "TOPUP", "", "", i(a.TopUps), i64(a.TopUpAmount))
	row("appliedAfterAt", "", "REFUND", "", "", i(a.Refunds), i64(a.RefundAmount))
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("report CSV: %w", err)
	}
	return buf.Bytes(), nil
}

// getReport is GET /admin/v1/issuers/{issuerId}/report?at=&tz=&format=:
// JSON, or CSV with format=csv or an Accept of text/csv.
func (s *Server) getReport(c *fiber.Ctx) error {
	params := queryValues(c)
	if err := checkParams(params, []string{"at", "tz", "format"}); err != nil {
		return err
	}
	format := params.Get("format")
	switch format {
	case "":
		if c.Accepts(fiber.MIMEApplicationJSON, "text/csv") == "text/csv" {
			format = "csv"
		}
	case "csv", "json":
	default:
		return badInput("format: must be json or csv")
	}
	r, err := s.API().Report(c.UserContext(), strings.Clone(c.Params("issuerId")),
		ReportParams{At: params.Get("at"), TZ: params.Get("tz")})
	if err != nil {
		return err
	}
	if format != "csv" {
		return c.JSON(r)
	}
	b, err := r.CSV()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	name := strings.Map(func(ch rune) rune {
		if ch < 0x80 && (ch == '-' || ch == '_' || ch >= '0' && ch <= '9' || ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z') {
			return ch
		}
		return '_'
	}, r.IssuerID)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="report-`+name+`-`+r.At.Format("20060102")+`.csv"`)
	return c.Send(b)
}
