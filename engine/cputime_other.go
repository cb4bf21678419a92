//go:build !linux

package engine

import "time"

// threadCPUClock has no per-thread CPU clock to offer here: it reads -1,
// and the step limit falls back to wall time.
func threadCPUClock() func() time.Duration {
	return func() time.Duration { return -1 }
}
