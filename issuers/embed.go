package issuers

import "embed"

// FS holds the DEMO and DEMOAES folders at its root ("DEMO/issuer.yaml",
// "DEMOAES/issuer.yaml", ...).
//
//go:embed DEMO DEMOAES
var FS embed.FS
