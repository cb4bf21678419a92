//go:build !linux

package engine

import "time"

// threadCPUClock has no per-thread CPU clock to offer here: the step limit
// falls back to wall time.
func threadCPUClock() (read func() time.Duration, ok bool) { return nil, false }
