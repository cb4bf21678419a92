package issuers

import "embed"

// FS holds the DEMO folder at its root ("DEMO/issuer.yaml", ...).
//
//go:embed DEMO
var FS embed.FS
