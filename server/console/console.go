package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/server"
)

// CookieName is the cookie that keeps the admin token in the browser.
const CookieName = "tes_console"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options tune the console. The zero value suits a loopback admin address.
type Options struct {
	// Secure marks the token cookie Secure: set it when the admin address
	// is served over TLS.
	Secure bool
}

// console serves the pages. Its fields are fixed by Mount; safe for
// concurrent use.
type console struct {
	api   *server.API
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template // by page file name
	css   []byte
}

// pageNames are the page templates, each parsed with layout.html.
var pageNames = []string{"home.html", "sessions.html", "session.html", "purchase.html", "audit.html",
	"report.html", "login.html", "error.html"}

// Mount adds the console to app, the admin app: GET / and the other pages,
// /console.css, /login and /logout. It fails only if the embedded
// templates do not parse.
func Mount(app fiber.Router, api *server.API, opts Options) error {
	c := &console{api: api, opts: opts, log: api.Logger(), pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return fmt.Errorf("console: parse %s: %w", name, err)
		}
		c.pages[name] = t
	}
	css, err := fs.ReadFile(staticFS, "static/console.css")
	if err != nil {
		return fmt.Errorf("console: stylesheet: %w", err)
	}
	c.css = css

	app.Get("/console.css", c.stylesheet)
	app.Get("/login", c.loginForm)
	app.Post("/login", c.sameOrigin, c.login)
	app.Post("/logout", c.sameOrigin, c.logout)
	// The access check goes on each route, not on a group: a group without
	// a prefix would catch every path the admin API does not route.
	app.Get("/", c.access, c.home)
	app.Get("/sessions", c.access, c.sessions)
	app.Get("/sessions/:sessionId", c.access, c.session)
	app.Get("/purchases/:issuerId/:purchaseId", c.access, c.purchase)
	app.Post("/purchases/:issuerId/:purchaseId/resolve", c.sameOrigin, c.access, c.resolve)
	app.Get("/audit", c.access, c.audit)
	app.Get("/reports/:issuerId", c.access, c.report)
	return nil
}

func (c *console) stylesheet(ctx *fiber.Ctx) error {
	ctx.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	ctx.Set(fiber.HeaderCacheControl, "no-cache")
	return ctx.Send(c.css)
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the menu entry to highlight
	Error   string
	Notice  string
	LogOut  bool // a token is in use: show the log-out button
	Data    any
	BaseURL string
}

// render writes a page with the HTTP status.
func (c *console) render(ctx *fiber.Ctx, status int, name string, p page) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("console: no page %s", name)
	}
	p.LogOut = c.api.TokenRequired()
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.LogAttrs(ctx.UserContext(), slog.LevelError, "console: render failed", slog.String("page", name), slog.String("error", err.Error()))
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	setHeaders(ctx)
	ctx.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return ctx.Status(status).SendString(b.String())
}

// setHeaders are the security headers of every page: nothing from another
// host, no framing, no referrer leaving the console.
func setHeaders(ctx *fiber.Ctx) {
	ctx.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	ctx.Set("X-Content-Type-Options", "nosniff")
	ctx.Set("Referrer-Policy", "same-origin")
	ctx.Set(fiber.HeaderCacheControl, "no-store")
}

// fail renders an error page: a caller mistake (400, 404, 409) with its
// status and message, anything else as 500 with the cause in the log.
func (c *console) fail(ctx *fiber.Ctx, title string, err error) error {
	status, message := statusOf(err)
	if status == http.StatusInternalServerError {
		c.log.LogAttrs(ctx.UserContext(), slog.LevelError, "console page failed",
			slog.String("path", ctx.Path()), slog.String("error", err.Error()))
	}
	return c.render(ctx, status, "error.html", page{Title: title, Error: message})
}

// statusOf is an API error's HTTP status and the message to show.
func statusOf(err error) (int, string) {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe.Code, fe.Message
	}
	return http.StatusInternalServerError, "internal error; the server's log has the cause"
}

// formValues are the query's non-empty values, copied out of fiber.
func formValues(ctx *fiber.Ctx) url.Values {
	params := url.Values{}
	ctx.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if len(v) > 0 {
			params.Add(string(k), string(v))
		}
	})
	return params
}
