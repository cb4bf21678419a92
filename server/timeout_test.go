package server_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/server"
)

// TestTimedOutConnectionClosedWithoutReply: a connection that sends
// nothing, or half a request, is closed when its read timeout passes, with
// no bytes written: an unprompted reply would be read by a pooled client as
// the answer to its next request.
func TestTimedOutConnectionClosedWithoutReply(t *testing.T) {
	tests := []struct {
		name string
		send string
	}{
		{"idle", ""},
		{"half a request", "POST " + server.GatewayBasePath + "/getCardCommands HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"issuerId\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, func(c *server.Config) { c.ReadTimeout = 100 * time.Millisecond })
			for _, app := range []string{listen(t, s.server.Gateway()), listen(t, s.server.Admin())} {
				conn, err := net.Dial("tcp", strings.TrimPrefix(app, "http://"))
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer conn.Close()
				if _, err := io.WriteString(conn, tt.send); err != nil {
					t.Fatalf("write: %v", err)
				}
				// The deadline only keeps a broken server from hanging the
				// test; the server closes long before.
				_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
				got, err := io.ReadAll(conn)
				if err != nil {
					t.Fatalf("read: %v (after %q)", err, got)
				}
				if len(got) != 0 {
					t.Fatalf("the server wrote %q to a timed-out connection", got)
				}
			}
		})
	}
}
