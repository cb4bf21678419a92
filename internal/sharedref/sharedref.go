// Package sharedref lets tests compare the project's copies of reference
// files with the originals in ../shared, which sits beside the project in
// CI and in a developer's workspace but not in a clone of the project alone.
//
// It is test support only: nothing outside _test.go files imports it.
package sharedref

import (
	"os"
	"testing"
)

// Need skips t when the reference file at path is absent, saying why; in
// CI (CI=true), where ../shared is always present, it fails t instead.
func Need(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference file: %v", err)
		}
		t.Skipf("reference file %s is absent (it sits in ../shared beside the project, as in CI): %v", path, err)
	}
}
