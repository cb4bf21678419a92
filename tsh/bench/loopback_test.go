package bench_test

import (
	"errors"
	"testing"

	"github.com/tes-project/tes/tsh/bench"
)

func TestRequireLoopback(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://127.1.2.3:80": true, "http://localhost:8080": true, "http://[::1]:8080": true,
		"http://10.0.0.1:8080": false, "http://192.168.1.1": false, "http://example.com": false, "http://0.0.0.0:8080": false, "::": false,
	} {
		err := bench.RequireLoopback(raw)
		if (err == nil) != ok || (err != nil && !errors.Is(err, bench.ErrConfig)) {
			t.Errorf("RequireLoopback(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}
