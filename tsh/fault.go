package tsh

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tes-project/tes/felica/card"
)

// FaultKind is one kind of trouble a TSH meets in the field.
type FaultKind int

// The faults Run can inject.
const (
	// LoseAnswerAfterWrite: the card applies the next write (Write Without
	// Encryption, Write v2 or the DES Write) but its answer never reaches
	// the device (response "").
	LoseAnswerAfterWrite FaultKind = iota + 1
	// FailBeforeWrite: the next write (Without Encryption, v2 or DES) never
	// reaches the card, which stays unchanged (response "").
	FailBeforeWrite
	// DeviceError: the device fails on the last command of the batch that
	// round trip N answers. That command is not sent to the card; round trip
	// N carries the responses the device has, "" for the missing one, and
	// the fault's StatusCode (221, 231 or 232).
	DeviceError
	// Duplicate: round trip N's request is sent twice; the replies must
	// agree except for responseId and timestamp.
	Duplicate
	// Pause: the device waits Delay before round trip N.
	Pause
)

var faultNames = map[FaultKind]string{
	LoseAnswerAfterWrite: "lose-after-write",
	FailBeforeWrite:      "fail-before-write",
	DeviceError:          "device-error",
	Duplicate:            "duplicate",
	Pause:                "pause",
}

func (k FaultKind) String() string {
	if name, ok := faultNames[k]; ok {
		return name
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// The device failures a TSH reports (CONTRACT.md §1.3).
var deviceErrorCodes = []int{221, 231, 232}

// Fault is one fault to inject into a Run.
type Fault struct {
	Kind FaultKind
	// RoundTrip is the round trip DeviceError, Duplicate and Pause hit:
	// 1 is the request that starts the operation. DeviceError needs 2 or
	// more, since it answers a batch.
	RoundTrip int
	// StatusCode is DeviceError's code: 221, 231 or 232.
	StatusCode int
	// Delay is Pause's wait.
	Delay time.Duration
}

// ParseFault reads a fault as tes sim's --fault takes it:
// "lose-after-write", "fail-before-write", "device-error:231@2",
// "duplicate@2", "pause:70s@2".
func ParseFault(text string) (Fault, error) {
	spec, at, hasAt := strings.Cut(text, "@")
	name, arg, hasArg := strings.Cut(spec, ":")
	var f Fault
	for kind, n := range faultNames {
		if n == name {
			f.Kind = kind
		}
	}
	if f.Kind == 0 {
		return Fault{}, fmt.Errorf("%w: fault %q: unknown kind %q (want lose-after-write, fail-before-write, device-error:CODE@N, duplicate@N, pause:DURATION@N)", ErrConfig, text, name)
	}
	if hasAt {
		n, err := strconv.Atoi(at)
		if err != nil {
			return Fault{}, fmt.Errorf("%w: fault %q: round trip %q is not a number", ErrConfig, text, at)
		}
		f.RoundTrip = n
	}
	switch f.Kind {
	case DeviceError:
		if !hasArg {
			return Fault{}, fmt.Errorf("%w: fault %q: want device-error:CODE@N", ErrConfig, text)
		}
		code, err := strconv.Atoi(arg)
		if err != nil {
			return Fault{}, fmt.Errorf("%w: fault %q: code %q is not a number", ErrConfig, text, arg)
		}
		f.StatusCode = code
	case Pause:
		if !hasArg {
			return Fault{}, fmt.Errorf("%w: fault %q: want pause:DURATION@N", ErrConfig, text)
		}
		d, err := time.ParseDuration(arg)
		if err != nil {
			return Fault{}, fmt.Errorf("%w: fault %q: %w", ErrConfig, text, err)
		}
		f.Delay = d
	default:
		if hasArg {
			return Fault{}, fmt.Errorf("%w: fault %q: %s takes no argument", ErrConfig, text, f.Kind)
		}
	}
	if err := f.validate(); err != nil {
		return Fault{}, err
	}
	return f, nil
}

// String renders f as ParseFault reads it.
func (f Fault) String() string {
	switch f.Kind {
	case LoseAnswerAfterWrite, FailBeforeWrite:
		return f.Kind.String()
	case DeviceError:
		return fmt.Sprintf("%s:%d@%d", f.Kind, f.StatusCode, f.RoundTrip)
	case Pause:
		return fmt.Sprintf("%s:%s@%d", f.Kind, f.Delay, f.RoundTrip)
	}
	return fmt.Sprintf("%s@%d", f.Kind, f.RoundTrip)
}

func (f Fault) validate() error {
	switch f.Kind {
	case LoseAnswerAfterWrite, FailBeforeWrite:
		if f.RoundTrip != 0 {
			return fmt.Errorf("%w: fault %s hits the next write, not a round trip", ErrConfig, f.Kind)
		}
		return nil
	case DeviceError:
		if f.RoundTrip < 2 {
			return fmt.Errorf("%w: fault %s: round trip %d, want 2 or more (it answers a batch)", ErrConfig, f.Kind, f.RoundTrip)
		}
		for _, code := range deviceErrorCodes {
			if f.StatusCode == code {
				return nil
			}
		}
		return fmt.Errorf("%w: fault %s: code %d, want 221, 231 or 232", ErrConfig, f.Kind, f.StatusCode)
	case Duplicate, Pause:
		if f.RoundTrip < 1 {
			return fmt.Errorf("%w: fault %s: round trip %d, want 1 or more", ErrConfig, f.Kind, f.RoundTrip)
		}
		if f.Delay < 0 {
			return fmt.Errorf("%w: fault %s: negative delay %s", ErrConfig, f.Kind, f.Delay)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown fault kind %d", ErrConfig, int(f.Kind))
}

// cardFault is the card fault f arms, false for faults the driver plays.
func (f Fault) cardFault() (card.Fault, bool) {
	switch f.Kind {
	case LoseAnswerAfterWrite:
		return card.Fault{Kind: card.LoseAnswerAfterWrite}, true
	case FailBeforeWrite:
		return card.Fault{Kind: card.FailBeforeWrite}, true
	}
	return card.Fault{}, false
}

// faultPlan is a Run's faults by round trip.
type faultPlan struct {
	deviceError map[int]Fault
	duplicate   map[int]bool
	pause       map[int]time.Duration
}

func planFaults(faults []Fault) (faultPlan, error) {
	p := faultPlan{deviceError: map[int]Fault{}, duplicate: map[int]bool{}, pause: map[int]time.Duration{}}
	for _, f := range faults {
		if err := f.validate(); err != nil {
			return faultPlan{}, err
		}
		switch f.Kind {
		case DeviceError:
			p.deviceError[f.RoundTrip] = f
		case Duplicate:
			p.duplicate[f.RoundTrip] = true
		case Pause:
			p.pause[f.RoundTrip] += f.Delay
		}
	}
	return p, nil
}
