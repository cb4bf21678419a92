package secure_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica/secure"
)

// TestKeysNeverPrint: no fmt verb, slog handler or JSON encoding shows a
// key's bytes, alone or inside the structs that hold keys.
func TestKeysNeverPrint(t *testing.T) {
	key := secure.AESKey(u16(t, "DEADBEEFCAFEBABE0123456789ABCDEF"))
	des := secure.DESKey(u8(t, "DEADBEEFCAFEBABE"))
	values := []any{
		key, &key, des,
		secure.AESAuth{Alpha: key, Beta: key},
		secure.AESSession{Kenc: key, Kmac: key, TID: [6]byte{0xDE, 0xAD, 0xBE, 0xEF}},
		secure.DESAuth{L: des, Alpha: des, Beta: des},
		secure.DESSession{Key: des, TID: [6]byte{0xDE, 0xAD, 0xBE, 0xEF}},
		struct{ K secure.AESKey }{key},
	}
	leaks := func(s string) bool {
		l := strings.ToLower(s)
		return strings.Contains(l, "dead") || strings.Contains(l, "222") || strings.Contains(s, "173")
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			if s := fmt.Sprintf(verb, v); leaks(s) || !strings.Contains(s, "redacted") {
				t.Errorf("%T with %s prints %q", v, verb, s)
			}
		}
		var buf bytes.Buffer
		// Without the time: its digits ("…16:44:00.196372228") can hold
		// "222" or "173" by chance.
		noTime := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}
		slog.New(slog.NewJSONHandler(&buf, noTime)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&buf, noTime)).Info("x", "v", v)
		if leaks(buf.String()) {
			t.Errorf("%T logs %q", v, buf.String())
		}
	}
	b, err := json.Marshal(struct{ K secure.AESKey }{key})
	if err != nil || leaks(string(b)) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

// TestParseKey: keys parse from hex of the right length, and the error never
// repeats the input.
func TestParseKey(t *testing.T) {
	if _, err := secure.ParseAESKey("000102030405060708090A0B0C0D0E0F"); err != nil {
		t.Error(err)
	}
	for _, s := range []string{"", "00", "000102030405060708090A0B0C0D0EZZ", "000102030405060708090A0B0C0D0E0F00"} {
		if _, err := secure.ParseAESKey(s); err == nil || (s != "" && strings.Contains(err.Error(), s)) {
			t.Errorf("ParseAESKey(%q) = %v", s, err)
		}
	}
	if _, err := secure.ParseDESKey("0123456789ABCDEG"); err == nil || strings.Contains(err.Error(), "0123456789ABCDEG") {
		t.Errorf("ParseDESKey = %v", err)
	}
}
