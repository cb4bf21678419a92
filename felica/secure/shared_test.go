package secure_test

import (
	"os"
	"testing"

	"github.com/tes-project/tes/internal/sharedref"
)

// sharedVectors is the reference file; testdata holds a byte-for-byte copy so
// that the package tests alone, and TestVectorFileIsCopy keeps the two equal.
const sharedVectors = "../../../shared/felica-secure-vectors.txt"

func readShared(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVectorFileIsCopy(t *testing.T) {
	sharedref.Need(t, sharedVectors)
	shared, err := os.ReadFile(sharedVectors)
	if err != nil {
		t.Fatal(err)
	}
	if string(shared) != readShared(t, "felica-secure-vectors.txt") {
		t.Errorf("testdata/felica-secure-vectors.txt differs from %s: copy it again", sharedVectors)
	}
}
