package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
)

// Bounds of what one page shows.
const (
	homeUncertainLimit = 100
	purchaseHistory    = 50
	auditPageSize      = 50
)

// issuerPanel is one issuer on the home page.
type issuerPanel struct {
	server.IssuerView
	LastHour  server.OperationCounts
	Uncertain []server.PurchaseView
}

func (c *console) home(ctx *fiber.Ctx) error {
	rctx := ctx.UserContext()
	since := c.api.Now().Add(-time.Hour)
	var panels []issuerPanel
	for _, iss := range c.api.Issuers() {
		p := issuerPanel{IssuerView: iss}
		var err error
		if p.LastHour, err = c.api.Operations(rctx, iss.IssuerID, since); err != nil {
			return c.fail(ctx, "Issuers", err)
		}
		if p.Uncertain, err = c.api.Purchases(rctx, iss.IssuerID, store.PurchaseUncertain, homeUncertainLimit); err != nil {
			return c.fail(ctx, "Issuers", err)
		}
		panels = append(panels, p)
	}
	return c.render(ctx, http.StatusOK, "home.html", page{Title: "Issuers", Nav: "home", Data: panels})
}

// searchData is the session search page: the form's values and a page of
// results.
type searchData struct {
	Form     map[string]string
	Searched bool
	Page     server.SessionPage
	NextURL  string
}

// datetimeLocal is how an <input type="datetime-local"> sends a time.
const datetimeLocal = "2006-01-02T15:04"

func (c *console) sessions(ctx *fiber.Ctx) error {
	params := formValues(ctx)
	form := map[string]string{}
	for k := range params {
		form[k] = params.Get(k)
	}
	d := searchData{Form: form, Searched: len(params) > 0}
	// The form's datetime-local fields carry no zone: they are UTC, as the
	// page says.
	for _, name := range []string{"from", "to"} {
		if v := params.Get(name); v != "" {
			if t, err := time.Parse(datetimeLocal, v); err == nil {
				params.Set(name, t.UTC().Format(time.RFC3339))
			}
		}
	}
	if !d.Searched {
		params.Set("limit", "50")
	}
	var err error
	d.Page, err = c.api.SearchSessions(ctx.UserContext(), params)
	if err != nil {
		status, message := statusOf(err)
		if status == http.StatusInternalServerError {
			return c.fail(ctx, "Sessions", err)
		}
		return c.render(ctx, status, "sessions.html", page{Title: "Sessions", Nav: "sessions", Error: message, Data: d})
	}
	if d.Page.NextCursor != "" {
		next := formValues(ctx)
		next.Set("cursor", d.Page.NextCursor)
		d.NextURL = "/sessions?" + next.Encode()
	}
	return c.render(ctx, http.StatusOK, "sessions.html", page{Title: "Sessions", Nav: "sessions", Data: d})
}

func (c *console) session(ctx *fiber.Ctx) error {
	id := strings.Clone(ctx.Params("sessionId"))
	view, err := c.api.Session(ctx.UserContext(), id)
	if err != nil {
		return c.fail(ctx, "Session", err)
	}
	return c.render(ctx, http.StatusOK, "session.html", page{Title: "Session " + short(id), Nav: "sessions", Data: traceOf(view)})
}

// purchaseData is a purchase's page.
type purchaseData struct {
	Purchase server.PurchaseView
	Sessions server.SessionPage
	Audit    server.AuditPage
	Outcome  string // the form's last choice
	Reason   string
}

func (c *console) purchase(ctx *fiber.Ctx) error {
	d, err := c.purchaseData(ctx.UserContext(), strings.Clone(ctx.Params("issuerId")), strings.Clone(ctx.Params("purchaseId")))
	if err != nil {
		return c.fail(ctx, "Purchase", err)
	}
	p := page{Title: "Purchase " + d.Purchase.PurchaseID, Nav: "home", Data: d}
	if ctx.Query("resolved") != "" {
		p.Notice = "Resolved: the purchase is now " + string(d.Purchase.Status) + "."
	}
	return c.render(ctx, http.StatusOK, "purchase.html", p)
}

func (c *console) purchaseData(ctx context.Context, issuerID, purchaseID string) (purchaseData, error) {
	var d purchaseData
	var err error
	if d.Purchase, err = c.api.Purchase(ctx, issuerID, purchaseID); err != nil {
		return d, err
	}
	limit := url.Values{"issuerId": {issuerID}, "purchaseId": {purchaseID}, "limit": {"50"}}
	if d.Sessions, err = c.api.SearchSessions(ctx, limit); err != nil {
		return d, err
	}
	d.Audit, err = c.api.Audit(ctx, url.Values{"issuerId": {issuerID}, "target": {purchaseID}, "limit": {"50"}})
	return d, err
}

// resolve settles an UNCERTAIN purchase from the purchase page's form.
func (c *console) resolve(ctx *fiber.Ctx) error {
	issuerID, purchaseID := strings.Clone(ctx.Params("issuerId")), strings.Clone(ctx.Params("purchaseId"))
	in := server.ResolveInput{Outcome: store.PurchaseStatus(strings.Clone(ctx.FormValue("outcome"))), Reason: strings.Clone(ctx.FormValue("reason"))}
	_, err := c.api.ResolvePurchase(ctx.UserContext(), c.caller(ctx), issuerID, purchaseID, in)
	if err == nil {
		return ctx.Redirect("/purchases/"+url.PathEscape(issuerID)+"/"+url.PathEscape(purchaseID)+"?resolved=1", http.StatusSeeOther)
	}
	status, message := statusOf(err)
	if status == http.StatusInternalServerError || status == http.StatusNotFound {
		return c.fail(ctx, "Purchase", err)
	}
	d, dataErr := c.purchaseData(ctx.UserContext(), issuerID, purchaseID)
	if dataErr != nil {
		return c.fail(ctx, "Purchase", dataErr)
	}
	d.Outcome, d.Reason = string(in.Outcome), in.Reason
	return c.render(ctx, status, "purchase.html", page{Title: "Purchase " + purchaseID, Nav: "home", Error: message, Data: d})
}

// auditData is the audit page.
type auditData struct {
	Form    map[string]string
	Page    server.AuditPage
	NextURL string
}

func (c *console) audit(ctx *fiber.Ctx) error {
	params := formValues(ctx)
	d := auditData{Form: map[string]string{"issuerId": params.Get("issuerId"), "target": params.Get("target")}}
	if params.Get("limit") == "" {
		params.Set("limit", "50")
	}
	var err error
	if d.Page, err = c.api.Audit(ctx.UserContext(), params); err != nil {
		status, message := statusOf(err)
		if status == http.StatusInternalServerError {
			return c.fail(ctx, "Audit log", err)
		}
		return c.render(ctx, status, "audit.html", page{Title: "Audit log", Nav: "audit", Error: message, Data: d})
	}
	if d.Page.NextCursor != "" {
		next := formValues(ctx)
		next.Set("cursor", d.Page.NextCursor)
		d.NextURL = "/audit?" + next.Encode()
	}
	return c.render(ctx, http.StatusOK, "audit.html", page{Title: "Audit log", Nav: "audit", Data: d})
}

// reportData is the report page.
type reportData struct {
	Report server.Report
	At, TZ string
	CSVURL string
}

// report shows an issuer's report; ?format=csv downloads it as CSV.
func (c *console) report(ctx *fiber.Ctx) error {
	issuerID := strings.Clone(ctx.Params("issuerId"))
	params := server.ReportParams{At: strings.Clone(ctx.Query("at")), TZ: strings.Clone(ctx.Query("tz"))}
	r, err := c.api.Report(ctx.UserContext(), issuerID, params)
	if err != nil {
		return c.fail(ctx, "Report", err)
	}
	if ctx.Query("format") == "csv" {
		b, err := r.CSV()
		if err != nil {
			return c.fail(ctx, "Report", err)
		}
		setHeaders(ctx)
		ctx.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		ctx.Set(fiber.HeaderContentDisposition, `attachment; filename="report.csv"`)
		return ctx.Send(b)
	}
	q := url.Values{"format": {"csv"}}
	if params.At != "" {
		q.Set("at", params.At)
	}
	if params.TZ != "" {
		q.Set("tz", params.TZ)
	}
	d := reportData{Report: r, At: params.At, TZ: params.TZ, CSVURL: "/reports/" + url.PathEscape(issuerID) + "?" + q.Encode()}
	return c.render(ctx, http.StatusOK, "report.html", page{Title: "Report " + issuerID, Nav: "home", Data: d})
}

// short is the first 8 characters of an id, for titles.
func short(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}
