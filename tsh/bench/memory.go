package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	// RSS is the resident set now (VmRSS), PeakRSS its high-water mark
	// (VmHWM); bytes.
	RSS, PeakRSS int64
}

// ProcessMemory reads the resident memory of process pid (Linux only).
func ProcessMemory(pid int) (Memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("bench: memory of process %d: %w", pid, err)
	}
	return parseStatus(raw)
}

// parseStatus reads VmRSS and VmHWM ("VmRSS:	  12345 kB") from a
// /proc/<pid>/status file.
func parseStatus(raw []byte) (Memory, error) {
	var m Memory
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("bench: %s: unexpected %q", key, value)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("bench: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.PeakRSS = kb << 10
		}
		found++
	}
	if found != 2 {
		return Memory{}, fmt.Errorf("bench: VmRSS or VmHWM missing from the process status")
	}
	return m, nil
}
