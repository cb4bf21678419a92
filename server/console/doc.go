// Package console is the support staff's web console on the admin address
// (CONTRACT.md §2.1): issuers and their recent operations, the session
// search, a session's trace as a readable page, a purchase's history with
// the form that resolves it, the audit log, and the issuers' reports.
//
// # Basics
//
// Mount adds the pages to the admin app. Every page reads through
// server.API, the same calls the admin API's handlers make, so the console
// shows and changes exactly what the API does. Pages are rendered on the
// server with html/template; the stylesheet is embedded and served by the
// binary (no external host, no script, no build step), with a print
// stylesheet so that a trace or a report prints readably.
//
// Access follows the admin API's rule: without an admin token only
// loopback callers are served (403 otherwise); with one, the console asks
// for it once (/login) and keeps it in an HttpOnly, SameSite=Strict cookie.
// A change (resolving a purchase) is a POST whose Origin (or, without one,
// Referer) must be the console's own host: a POST from another origin is
// refused 403 (CSRF).
//
// # Caveats
//
//   - Behind a proxy that rewrites Host, the Origin check compares with the
//     Host the server sees: keep the proxy's Host as the browser's.
//   - The cookie holds the admin token itself; set Options.Secure when the
//     admin address is served over TLS so that it travels only there.
//
// It is not the admin API (package server), and it holds no state of its
// own: the store is the only source of what it shows.
package console
