package bench

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       stat
		ok         bool
	}{
		{"plain", "42 (tes) S 7 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0 1 2 3", stat{ppid: 7, cpu: 280 * clockTick}, true},
		{"name with spaces and parentheses", "43 (postgres: a (b) c) S 9 1 1 0 -1 0 0 0 0 0 5 6 0 0", stat{ppid: 9, cpu: 11 * clockTick}, true},
		{"short", "44 (x) S 1 2", stat{}, false},
		{"no name", "45 x S 1", stat{}, false},
	}
	for _, tt := range tests {
		got, err := parseStat(tt.line)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v ok %t", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestProcessCPUOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cpu, err := ProcessCPU(os.Getpid())
	if err != nil || cpu < 0 {
		t.Fatalf("ProcessCPU: %v, %v", cpu, err)
	}
	tree, err := TreeCPU(os.Getpid())
	if err != nil || tree < cpu {
		t.Fatalf("TreeCPU %v < ProcessCPU %v (%v)", tree, cpu, err)
	}
}
