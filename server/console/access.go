package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// access admits a console caller by the admin API's rule: without a token,
// loopback callers only; with one, a cookie holding it, else the login
// form (GET) or 401.
func (c *console) access(ctx *fiber.Ctx) error {
	if !c.api.TokenRequired() {
		if !ctx.Context().RemoteIP().IsLoopback() {
			return c.render(ctx, http.StatusForbidden, "error.html", page{Title: "Forbidden",
				Error: "Without an admin token the console serves loopback callers only."})
		}
		return ctx.Next()
	}
	if c.api.CheckToken(ctx.Cookies(CookieName)) {
		return ctx.Next()
	}
	if ctx.Method() == fiber.MethodGet {
		return ctx.Redirect("/login?next="+url.QueryEscape(string(ctx.Request().RequestURI())), http.StatusSeeOther)
	}
	return c.render(ctx, http.StatusUnauthorized, "error.html", page{Title: "Log in first", Error: "Log in to the console first."})
}

// sameOrigin refuses a POST that a page of another origin sent: its Origin
// header, or without one its Referer, must name this host.
func (c *console) sameOrigin(ctx *fiber.Ctx) error {
	from := ctx.Get(fiber.HeaderOrigin)
	if from == "" {
		from = ctx.Get(fiber.HeaderReferer)
	}
	u, err := url.Parse(from)
	if from == "" || err != nil || u.Host == "" || !strings.EqualFold(u.Host, ctx.Get(fiber.HeaderHost)) {
		return c.render(ctx, http.StatusForbidden, "error.html", page{Title: "Refused",
			Error: "A change must come from a page of this console (the request's Origin does not match)."})
	}
	return ctx.Next()
}

// caller names the console user for the audit log, never with the token.
func (c *console) caller(ctx *fiber.Ctx) string {
	addr := ctx.Context().RemoteIP().String()
	if c.api.TokenRequired() {
		return "console token@" + addr
	}
	return "console " + addr
}

type loginData struct {
	Next string
}

func (c *console) loginForm(ctx *fiber.Ctx) error {
	if !c.api.TokenRequired() {
		return ctx.Redirect("/", http.StatusSeeOther)
	}
	return c.render(ctx, http.StatusOK, "login.html", page{Title: "Log in", Data: loginData{Next: safeNext(ctx.Query("next"))}})
}

// login checks the token of the form and keeps it in the cookie.
func (c *console) login(ctx *fiber.Ctx) error {
	if !c.api.TokenRequired() {
		return ctx.Redirect("/", http.StatusSeeOther)
	}
	next := safeNext(ctx.FormValue("next"))
	if !c.api.CheckToken(ctx.FormValue("token")) {
		return c.render(ctx, http.StatusUnauthorized, "login.html", page{Title: "Log in", Error: "Wrong token.", Data: loginData{Next: next}})
	}
	ctx.Cookie(&fiber.Cookie{
		Name: CookieName, Value: strings.Clone(ctx.FormValue("token")), Path: "/",
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: c.opts.Secure,
	})
	return ctx.Redirect(next, http.StatusSeeOther)
}

func (c *console) logout(ctx *fiber.Ctx) error {
	ctx.Cookie(&fiber.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: c.opts.Secure})
	return ctx.Redirect("/login", http.StatusSeeOther)
}

// safeNext keeps a redirect inside the console: a path, not a URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}
