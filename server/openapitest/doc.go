// Package openapitest checks Device Gateway traffic against the server's
// OpenAPI document (server.OpenAPI), for the server's own tests and the
// end-to-end suite. It is test support: nothing in the program imports it.
package openapitest
