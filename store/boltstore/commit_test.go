package boltstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

// groupMember is one Update of a group built by holdWriter.
type groupMember struct {
	cardID string
	fail   error // returned after putting the card
	panics bool  // panics after putting the card
}

// runGroup holds the writer with one Update, queues members behind it in
// order, then releases it, so that the members form one group. It returns
// each member's result (recovered panics as errPanicked), how often each
// closure ran, and the commits the group took.
func runGroup(t *testing.T, st *boltstore.Store, members []groupMember) (results []error, runs []int, commits int) {
	t.Helper()
	ctx := context.Background()
	release, holding := make(chan struct{}), make(chan struct{})
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- st.Update(ctx, func(tx store.Tx) error {
			close(holding)
			<-release
			return tx.PutCard(store.Card{IssuerID: "i", CardID: "holder", Status: store.CardActive})
		})
	}()
	<-holding
	before, err := boltstore.LastTxID(st)
	if err != nil {
		t.Fatal(err)
	}

	results, runs = make([]error, len(members)), make([]int, len(members))
	counters := make([]atomic.Int32, len(members))
	done := make(chan int, len(members))
	for i, m := range members {
		go func() {
			defer func() {
				if v := recover(); v != nil {
					results[i] = errPanicked
				}
				done <- i
			}()
			results[i] = st.Update(ctx, func(tx store.Tx) error {
				counters[i].Add(1)
				if err := tx.PutCard(store.Card{IssuerID: "i", CardID: m.cardID, Status: store.CardActive}); err != nil {
					return err
				}
				if m.panics {
					panic("member " + m.cardID)
				}
				return m.fail
			})
		}()
		waitQueued(t, st, i+1)
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatalf("holder: %v", err)
	}
	for range members {
		<-done
	}
	after, err := boltstore.LastTxID(st)
	if err != nil {
		t.Fatal(err)
	}
	for i := range counters {
		runs[i] = int(counters[i].Load())
	}
	// The holder's own commit comes after before was read.
	return results, runs, after - before - 1
}

var errPanicked = errors.New("the Update panicked")

func waitQueued(t *testing.T, st *boltstore.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for boltstore.QueuedUpdates(st) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d updates queued after 5s, want %d", boltstore.QueuedUpdates(st), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func cardExists(t *testing.T, st *boltstore.Store, id string) bool {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.Card("i", id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Card %s: %v", id, err)
	}
	return err == nil
}

func TestGroupCommit(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name        string
		members     []groupMember
		wantErrs    []error
		wantCommits int
		maxRuns     []int // how often each closure may run at most
	}{
		{
			name:        "all succeed: one commit for the group",
			members:     []groupMember{{cardID: "a"}, {cardID: "b"}, {cardID: "c"}, {cardID: "d"}},
			wantErrs:    []error{nil, nil, nil, nil},
			wantCommits: 1,
			maxRuns:     []int{1, 1, 1, 1},
		},
		{
			name:        "a failure in the middle fails only its Update",
			members:     []groupMember{{cardID: "a"}, {cardID: "b", fail: errBoom}, {cardID: "c"}},
			wantErrs:    []error{nil, errBoom, nil},
			wantCommits: 1,
			maxRuns:     []int{2, 2, 1},
		},
		{
			name:        "a failure first is not run again",
			members:     []groupMember{{cardID: "a", fail: errBoom}, {cardID: "b"}},
			wantErrs:    []error{errBoom, nil},
			wantCommits: 1,
			maxRuns:     []int{1, 1},
		},
		{
			name:        "a panic reaches its own caller only",
			members:     []groupMember{{cardID: "a"}, {cardID: "b", panics: true}, {cardID: "c", fail: errBoom}, {cardID: "d"}},
			wantErrs:    []error{nil, errPanicked, errBoom, nil},
			wantCommits: 1,
			maxRuns:     []int{3, 2, 2, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := openTemp(t)
			defer st.Close()
			results, runs, commits := runGroup(t, st, tt.members)
			for i, m := range tt.members {
				if !errors.Is(results[i], tt.wantErrs[i]) || (tt.wantErrs[i] == nil && results[i] != nil) {
					t.Errorf("member %s: %v, want %v", m.cardID, results[i], tt.wantErrs[i])
				}
				if runs[i] < 1 || runs[i] > tt.maxRuns[i] {
					t.Errorf("member %s ran %d times, want 1..%d", m.cardID, runs[i], tt.maxRuns[i])
				}
				if got, want := cardExists(t, st, m.cardID), tt.wantErrs[i] == nil; got != want {
					t.Errorf("member %s: card stored %t, want %t", m.cardID, got, want)
				}
			}
			if commits != tt.wantCommits {
				t.Errorf("group took %d commits, want %d", commits, tt.wantCommits)
			}
		})
	}
}

func TestCommitAloneCommitsEachUpdate(t *testing.T) {
	st, err := boltstore.Open(t.TempDir()+"/tes.db", boltstore.Options{CommitAlone: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, _ := boltstore.LastTxID(st)
	for _, id := range []string{"a", "b", "c"} {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			return tx.PutCard(store.Card{IssuerID: "i", CardID: id, Status: store.CardActive})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	after, _ := boltstore.LastTxID(st)
	if after-before != 3 {
		t.Errorf("3 Updates took %d commits", after-before)
	}
}

func TestCloseCommitsQueuedUpdates(t *testing.T) {
	st, path := openTemp(t)
	release, holding := make(chan struct{}), make(chan struct{})
	results := make(chan error, 2)
	go func() {
		results <- st.Update(context.Background(), func(tx store.Tx) error {
			close(holding)
			<-release
			return tx.PutCard(store.Card{IssuerID: "i", CardID: "first", Status: store.CardActive})
		})
	}()
	<-holding
	go func() {
		results <- st.Update(context.Background(), func(tx store.Tx) error {
			return tx.PutCard(store.Card{IssuerID: "i", CardID: "queued", Status: store.CardActive})
		})
	}()
	waitQueued(t, st, 1)
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []string{"first", "queued"} {
		if !cardExists(t, st, id) {
			t.Errorf("card %s lost", id)
		}
	}
}
