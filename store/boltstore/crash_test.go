package boltstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/storetest"
)

// crashWriterEnv, when set to a database path, turns the test binary into
// the writer that TestCrashKeepsCommitted kills.
const crashWriterEnv = "BOLTSTORE_CRASH_WRITER_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashWriterEnv); path != "" {
		if err := crashWriter(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashWriter commits forever, one card and one session revision per
// Update, and prints "n" after Update n returned.
func crashWriter(path string) error {
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return err
	}
	s := storetest.OpenSession("s", "i", "d", t0)
	for n := 1; ; n++ {
		s.Revision = uint64(n)
		err := st.Update(context.Background(), func(tx store.Tx) error {
			return errors.Join(
				tx.PutCard(store.Card{IssuerID: "i", CardID: "card-" + strconv.Itoa(n), Status: store.CardActive}),
				tx.PutSession(s))
		})
		if err != nil {
			return err
		}
		// os.Stdout is unbuffered: the line leaves with the write call.
		if _, err := fmt.Println(n); err != nil {
			return err
		}
	}
}

// TestCrashKeepsCommitted kills a writer with SIGKILL in mid-stream and
// checks that every Update it saw return is in the file. It covers a process
// crash, not a power cut: the kernel's page cache survives SIGKILL.
func TestCrashKeepsCommitted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "tes.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	const killAfter = 40
	last := 0
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		n, err := strconv.Atoi(strings.TrimSpace(lines.Text()))
		if err != nil || n != last+1 {
			t.Fatalf("writer printed %q after %d", lines.Text(), last)
		}
		last = n
		if n == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill: %v", err)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("writer ended with %v, not by SIGKILL; stderr:\n%s", err, stderr.String())
	}
	if last < killAfter {
		t.Fatalf("writer printed %d commits, want at least %d", last, killAfter)
	}

	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer st.Close()
	if err := boltstore.CheckFile(st); err != nil {
		t.Errorf("file inconsistent after crash: %v", err)
	}
	err = st.View(context.Background(), func(tx store.Tx) error {
		for n := 1; n <= last; n++ {
			if _, err := tx.Card("i", "card-"+strconv.Itoa(n)); err != nil {
				t.Errorf("commit %d of %d lost: %v", n, last, err)
			}
		}
		s, err := tx.Session("s")
		if err != nil {
			return err
		}
		// The writer may have committed one more than it printed.
		if s.Revision != uint64(last) && s.Revision != uint64(last+1) {
			t.Errorf("session at revision %d, printed commits %d", s.Revision, last)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}
