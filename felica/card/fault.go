package card

import (
	"fmt"
	"time"
)

// FaultKind is what an armed fault does to the command it fires on.
type FaultKind int

// The faults a test can arm. Named after the write they are meant for; on another
// command they do the same thing (execute or not, answer or not).
const (
	// LoseAnswerAfterWrite executes the command, then drops the answer: the card has
	// changed but the device never hears it.
	LoseAnswerAfterWrite FaultKind = iota + 1
	// FailBeforeWrite drops the command before executing it: nothing changes and no
	// answer comes.
	FailBeforeWrite
	// AnswerLate executes the command and answers after Fault.Delay, slept through
	// Settings.Sleep.
	AnswerLate
)

func (k FaultKind) String() string {
	switch k {
	case LoseAnswerAfterWrite:
		return "lose answer after write"
	case FailBeforeWrite:
		return "fail before write"
	case AnswerLate:
		return "answer late"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is a one-shot failure armed on a card.
type Fault struct {
	Kind FaultKind
	// AtCommand picks the command the fault fires on: 0 for the next write frame
	// (Write Without Encryption for any IDm, Write v2 or the DES Write, whatever
	// their MAC), N > 0 for the Nth frame given to Transceive
	// after Arm, whatever it holds (a call whose context has already ended does not
	// count).
	AtCommand int
	// Delay is how late AnswerLate answers.
	Delay time.Duration
}

// armedFault is a Fault with the absolute frame count it fires on (0: next write).
type armedFault struct {
	Fault
	at int
}

func (f Fault) validate() error {
	if f.Kind < LoseAnswerAfterWrite || f.Kind > AnswerLate {
		return fmt.Errorf("card: arm fault: unknown kind %d", int(f.Kind))
	}
	if f.AtCommand < 0 {
		return fmt.Errorf("card: arm fault: AtCommand %d is negative", f.AtCommand)
	}
	if f.Delay < 0 {
		return fmt.Errorf("card: arm fault: delay %v is negative", f.Delay)
	}
	return nil
}
