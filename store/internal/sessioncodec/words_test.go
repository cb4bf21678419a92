package sessioncodec

import (
	"slices"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// A stored word is its place in words: the places of format 4's words
// never change. The list may only grow.
func TestWordsKeepTheirPlaces(t *testing.T) {
	shipped := []string{"", "OPEN", "ENDED", "getCardCommands", "getParkCardCommands", "getReaderModeCommands",
		"TOPUP", "READ", "REFUND", "PARK", "READER_MODE", "COMPLETED", "DEVICE_FAILURE", "EXPIRED", "INCOMPLETE", "FAULT", "OK"}
	if len(words) < len(shipped) || !slices.Equal(words[:len(shipped)], shipped) {
		t.Fatalf("words %q, want them to start with %q", words, shipped)
	}
}

// The values the Go code itself writes into every record take the short
// form.
func TestWordsHoldTheCodesOwnValues(t *testing.T) {
	for _, v := range []string{
		string(store.SessionOpen), string(store.SessionEnded),
		string(flow.EndpointCard), string(flow.EndpointPark), string(flow.EndpointReaderMode),
		string(store.EndCompleted), string(store.EndDeviceFailure), string(store.EndExpired), string(store.EndIncomplete), string(store.EndFault),
	} {
		if !slices.Contains(words[:], v) {
			t.Errorf("%q is not a word", v)
		}
	}
}
