package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// wantRun runs a subcommand with args and checks its exit code and that
// its standard output holds each of want.
func wantRun(t *testing.T, run func(context.Context, []string, io.Writer, io.Writer) int, args []string, code int, want []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if got := run(context.Background(), args, &stdout, &stderr); got != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, code, stdout.String(), stderr.String())
	}
	for _, w := range want {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, stdout.String())
		}
	}
}
