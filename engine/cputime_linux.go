package engine

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUClock returns a function that reads the CPU time the calling OS
// thread has used, from any thread of the process; it reads -1 when the
// kernel offers no such clock. The caller must hold the thread
// (runtime.LockOSThread) for as long as the reading means anything.
func threadCPUClock() func() time.Duration {
	// The per-thread CPU clock of thread tid, as glibc's
	// pthread_getcpuclockid builds it: CPUCLOCK_SCHED with the
	// per-thread flag, tid complemented and shifted (linux/posix-timers.h).
	id := int32(^uint32(unix.Gettid())<<3 | 6)
	return func() time.Duration {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return -1
		}
		return time.Duration(ts.Nano())
	}
}
