package card_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

func TestFaults(t *testing.T) {
	newBalance := unhex(t, "DC050000080000000000000000000000")
	oldBalance := unhex(t, "E8030000070000000000000000000000")
	tests := []struct {
		name  string
		fault card.Fault
		// answered says which of: read, write, read get an answer.
		answered     [3]bool
		balanceAfter []byte
		slept        time.Duration
	}{
		{"lose answer after the next write", card.Fault{Kind: card.LoseAnswerAfterWrite}, [3]bool{true, false, true}, newBalance, 0},
		{"fail before the next write", card.Fault{Kind: card.FailBeforeWrite}, [3]bool{true, false, true}, oldBalance, 0},
		{"answer the next write late", card.Fault{Kind: card.AnswerLate, Delay: 3 * time.Second}, [3]bool{true, true, true}, newBalance, 3 * time.Second},
		{"fail the first command", card.Fault{Kind: card.FailBeforeWrite, AtCommand: 1}, [3]bool{false, true, true}, newBalance, 0},
		{"lose the answer to the third command", card.Fault{Kind: card.LoseAnswerAfterWrite, AtCommand: 3}, [3]bool{true, true, false}, newBalance, 0},
		{"fail the second command, a write", card.Fault{Kind: card.FailBeforeWrite, AtCommand: 2}, [3]bool{true, false, true}, oldBalance, 0},
		{"answer the first command late", card.Fault{Kind: card.AnswerLate, AtCommand: 1, Delay: time.Minute}, [3]bool{true, true, true}, newBalance, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var slept time.Duration
			c := demoCard(t, adultIDm, card.Settings{Sleep: func(_ context.Context, d time.Duration) error {
				slept += d
				return nil
			}})
			if err := c.Arm(tt.fault); err != nil {
				t.Fatal(err)
			}
			readFrame := build(t, felica.ReadCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRO}, Blocks: elems(0)})
			writeFrame := build(t, felica.WriteCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRW}, Blocks: elems(0), Data: newBalance})
			for i, frame := range [][]byte{readFrame, writeFrame, readFrame} {
				resp, err := c.Transceive(context.Background(), frame)
				switch {
				case tt.answered[i] && err != nil:
					t.Errorf("command %d: %v, want an answer", i+1, err)
				case !tt.answered[i] && !errors.Is(err, card.ErrNoAnswer):
					t.Errorf("command %d: % X, %v; want ErrNoAnswer", i+1, resp, err)
				}
			}
			if got := block(t, c, "balance", 0); !bytes.Equal(got, tt.balanceAfter) {
				t.Errorf("balance = % X, want % X", got, tt.balanceAfter)
			}
			if slept != tt.slept {
				t.Errorf("slept %v, want %v", slept, tt.slept)
			}
			// The fault was one-shot: the same write is answered now.
			if st := write(t, c, []felica.NodeCode{balanceRW}, elems(0), oldBalance); !st.OK() {
				t.Errorf("write after the fault: %s", st)
			}
		})
	}
}

func TestFaultsQueue(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	for range 2 {
		if err := c.Arm(card.Fault{Kind: card.FailBeforeWrite}); err != nil {
			t.Fatal(err)
		}
	}
	writeFrame := build(t, felica.WriteCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRW}, Blocks: elems(0), Data: record(1)})
	silent(t, c, writeFrame)
	silent(t, c, writeFrame)
	answer(t, c, writeFrame)
}

func TestAnswerLateCancelled(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{Sleep: func(context.Context, time.Duration) error { return context.DeadlineExceeded }})
	if err := c.Arm(card.Fault{Kind: card.AnswerLate, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	writeFrame := build(t, felica.WriteCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRW}, Blocks: elems(0), Data: record(1)})
	resp, err := c.Transceive(context.Background(), writeFrame)
	if !errors.Is(err, context.DeadlineExceeded) || resp != nil {
		t.Errorf("late answer past the deadline = % X, %v", resp, err)
	}
	if got := block(t, c, "balance", 0); !bytes.Equal(got, record(1)) {
		t.Errorf("the write was not applied: % X", got)
	}
}

func TestTransceiveCancelledContext(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	writeFrame := build(t, felica.WriteCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRW}, Blocks: elems(0), Data: record(1)})
	if _, err := c.Transceive(ctx, writeFrame); !errors.Is(err, context.Canceled) {
		t.Errorf("Transceive on a cancelled context = %v", err)
	}
	if got := block(t, c, "balance", 0); bytes.Equal(got, record(1)) {
		t.Error("a cancelled command was applied")
	}
}

func TestArmRejects(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	for _, f := range []card.Fault{{}, {Kind: 9}, {Kind: card.FailBeforeWrite, AtCommand: -1}, {Kind: card.AnswerLate, Delay: -time.Second}} {
		if err := c.Arm(f); err == nil {
			t.Errorf("Arm(%+v) accepted", f)
		}
	}
}
