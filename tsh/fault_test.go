package tsh_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tes-project/tes/tsh"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		text string
		want tsh.Fault
	}{
		{"lose-after-write", tsh.Fault{Kind: tsh.LoseAnswerAfterWrite}},
		{"fail-before-write", tsh.Fault{Kind: tsh.FailBeforeWrite}},
		{"device-error:231@2", tsh.Fault{Kind: tsh.DeviceError, StatusCode: 231, RoundTrip: 2}},
		{"device-error:221@5", tsh.Fault{Kind: tsh.DeviceError, StatusCode: 221, RoundTrip: 5}},
		{"duplicate@1", tsh.Fault{Kind: tsh.Duplicate, RoundTrip: 1}},
		{"pause:70s@2", tsh.Fault{Kind: tsh.Pause, Delay: 70 * time.Second, RoundTrip: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := tsh.ParseFault(tt.text)
			if err != nil {
				t.Fatalf("ParseFault: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			again, err := tsh.ParseFault(got.String())
			if err != nil || again != got {
				t.Errorf("ParseFault(String() = %q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseFaultRefuses(t *testing.T) {
	for _, text := range []string{
		"", "explode", "lose-after-write@2", "lose-after-write:1", "device-error@2", "device-error:500@2",
		"device-error:231@1", "device-error:x@2", "duplicate", "duplicate@0", "duplicate@x",
		"pause:70s", "pause:forever@2", "pause:-1s@2", "pause@2",
	} {
		if f, err := tsh.ParseFault(text); !errors.Is(err, tsh.ErrConfig) {
			t.Errorf("ParseFault(%q) = %+v, %v; want ErrConfig", text, f, err)
		}
	}
}
