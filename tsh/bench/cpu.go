package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux the project runs on).
const clockTick = 10 * time.Millisecond

// ProcessCPU is the CPU time (user and system) process pid has used so
// far, from /proc/<pid>/stat (Linux only), to the clock tick.
func ProcessCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: CPU of process %d: %w", pid, err)
	}
	st, err := parseStat(string(raw))
	if err != nil {
		return 0, fmt.Errorf("bench: CPU of process %d: %w", pid, err)
	}
	return st.cpu, nil
}

// TreeCPU is the CPU time used so far by process pid and its children
// that are alive — a PostgreSQL server's postmaster and its backends,
// whose connections the servers under test keep open for the run.
func TreeCPU(pid int) (time.Duration, error) {
	total, err := ProcessCPU(pid)
	if err != nil {
		return 0, err
	}
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: list processes: %w", err)
	}
	for _, path := range dirs {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // it ended meanwhile
		}
		st, err := parseStat(string(raw))
		if err == nil && st.ppid == pid {
			total += st.cpu
		}
	}
	return total, nil
}

// stat is what bench reads of /proc/<pid>/stat.
type stat struct {
	ppid int
	cpu  time.Duration // utime + stime
}

// parseStat reads a /proc/<pid>/stat line: "pid (comm) state ppid …
// utime stime …"; comm may hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseStat(line string) (stat, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return stat{}, fmt.Errorf("no command name in %q", line)
	}
	fields := strings.Fields(line[end+1:])
	// fields[0] is the state (field 3): ppid is field 4, utime 14, stime 15.
	if len(fields) < 13 {
		return stat{}, fmt.Errorf("short stat line %q", line)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return stat{}, fmt.Errorf("ppid %q: %w", fields[1], err)
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("utime %q: %w", fields[11], err)
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("stime %q: %w", fields[12], err)
	}
	return stat{ppid: ppid, cpu: time.Duration(utime+stime) * clockTick}, nil
}
