package engine

import (
	"fmt"
	"testing"
	"time"
)

// Session ids sort by the time they were made (to the millisecond), and
// keep 80 random bits.
func TestTimeOrderedID(t *testing.T) {
	t0 := time.Date(2031, 4, 5, 6, 7, 8, 0, time.UTC)
	earlier, later := timeOrderedID(t0), timeOrderedID(t0.Add(time.Millisecond))
	again := timeOrderedID(t0)
	if len(earlier) != 32 || earlier >= later || earlier[:12] != again[:12] || earlier == again {
		t.Errorf("ids %s, %s (a millisecond later), %s (same time)", earlier, later, again)
	}
	if want := fmt.Sprintf("%012x", t0.UnixMilli()); earlier[:12] != want {
		t.Errorf("id %s starts %s, want the milliseconds %s", earlier, earlier[:12], want)
	}
}
