// Package openapitest checks Device Gateway and admin API traffic against
// the server's OpenAPI document (server.OpenAPI), for the server's own
// tests, the console's and the end-to-end suite: one request or reply at a
// time (ValidateRequest, ValidateReply), or all of a client's traffic
// through Transport. It is test support: nothing in the program imports it.
package openapitest
