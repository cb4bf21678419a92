package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tes-project/tes/store/pgstore/pgtest"
)

func TestMigrateBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no store", nil, "must be a postgres:// URL"},
		{"bbolt", []string{"--store", "./data"}, "must be a postgres:// URL"},
		{"stray argument", []string{"--store", "postgres://h/db", "now"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TES_STORE", "")
			var stderr bytes.Buffer
			if code := runMigrate(context.Background(), tt.args, io.Discard, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

// TestMigrate applies the schema to a fresh database, twice: the second
// run finds nothing to do. TES_STORE works as --store does.
func TestMigrate(t *testing.T) {
	t.Setenv("TES_STORE", pgtest.Database(t))
	for run := range 2 {
		var stdout, stderr bytes.Buffer
		if code := runMigrate(context.Background(), nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("run %d: exit %d\n%s", run, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "schema at version") {
			t.Errorf("run %d: stdout %q", run, stdout.String())
		}
		if migrated := strings.Contains(stderr.String(), "store migrated"); migrated != (run == 0) {
			t.Errorf("run %d: migrated %t, want %t", run, migrated, run == 0)
		}
	}
}
