package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\ttes\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t8\n"
	m, err := parseStatus([]byte(status))
	if err != nil || m.RSS != 20480<<10 || m.PeakRSS != 40960<<10 {
		t.Errorf("parseStatus = %+v, %v", m, err)
	}
	for _, bad := range []string{"", "VmRSS:\t 1 kB\n", "VmRSS:\t x kB\nVmHWM:\t 1 kB\n", "VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n"} {
		if m, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want an error", bad, m)
		}
	}
	if m, err := ProcessMemory(os.Getpid()); err != nil || m.RSS <= 0 || m.PeakRSS < m.RSS {
		t.Errorf("ProcessMemory(self) = %+v, %v", m, err)
	}
}

func TestReservoir(t *testing.T) {
	r := newReservoir(100, 1)
	for i := range 10_000 {
		r.add(time.Duration(i))
	}
	if len(r.samples) != 100 || r.seen != 10_000 {
		t.Fatalf("kept %d of %d", len(r.samples), r.seen)
	}
	late := 0
	for _, s := range r.samples {
		if s >= 100 {
			late++
		}
	}
	if late < 50 {
		t.Errorf("only %d of 100 samples come after the first 100 offered: not a uniform choice", late)
	}
}
