package server

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the Device Gateway API as built, an OpenAPI 3.1 document
// in YAML. Parts the vendor's reference does not publish are marked
// x-reconstructed. Tests validate requests and replies against it.
func OpenAPI() []byte { return bytes.Clone(openAPI) }
