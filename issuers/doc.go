// Package issuers embeds the reference issuers DEMO and DEMOAES (its
// authenticated twin, CONTRACT.md §5), so that tes runs on
// built-in defaults when no issuers folder is given. The folders here are
// data (a manifest and Lua flows, see docs/scripting.md), not Go code.
package issuers
