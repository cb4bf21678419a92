package boltstore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/storetest"
)

// commitModes are the ways Update can commit.
var commitModes = []struct {
	name string
	opts boltstore.Options
}{
	{"Alone", boltstore.Options{CommitAlone: true}},
	{"Group", boltstore.Options{}},
	{"GroupLinger1ms", boltstore.Options{GroupCommit: time.Millisecond}},
}

// reportCommits adds commits/op (each commit is two fdatasyncs: pages, then
// the meta page) to a benchmark that started at transaction id before.
func reportCommits(b *testing.B, st *boltstore.Store, before int) {
	b.Helper()
	after, err := boltstore.LastTxID(st)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(after-before)/float64(b.N), "commits/op")
}

func openBench(b *testing.B, opts boltstore.Options) *boltstore.Store {
	b.Helper()
	st, err := boltstore.Open(b.TempDir()+"/bench.db", opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkPutSession: one writer advancing a typical session (three trace
// entries), one commit per call.
func BenchmarkPutSession(b *testing.B) {
	for _, mode := range commitModes {
		b.Run(mode.name, func(b *testing.B) {
			st := openBench(b, mode.opts)
			s := storetest.TypicalSession("s", "i", "d", t0)
			before, _ := boltstore.LastTxID(st)
			b.ReportAllocs()
			for n := 1; b.Loop(); n++ {
				s.Revision = uint64(n)
				if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) }); err != nil {
					b.Fatal(err)
				}
			}
			reportCommits(b, st, before)
		})
	}
}

// BenchmarkPutSessionConcurrent: 8 writers, each advancing its own session.
func BenchmarkPutSessionConcurrent(b *testing.B) {
	for _, mode := range commitModes {
		b.Run(mode.name, func(b *testing.B) {
			st := openBench(b, mode.opts)
			var writers atomic.Int64
			before, _ := boltstore.LastTxID(st)
			b.ReportAllocs()
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				w := writers.Add(1)
				s := storetest.TypicalSession(fmt.Sprintf("s%d", w), "i", "d", t0)
				s.CardID, s.IDm = fmt.Sprintf("card-%d", w), fmt.Sprintf("IDM-%d", w) // one open session per card
				for n := 1; pb.Next(); n++ {
					s.Revision = uint64(n)
					if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCommits(b, st, before)
		})
	}
}

// BenchmarkSession: one read of a typical session in its own View.
func BenchmarkSession(b *testing.B) {
	st := openBench(b, boltstore.Options{})
	s := storetest.TypicalSession("s", "i", "d", t0)
	s.Revision = 1
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		err := st.View(context.Background(), func(tx store.Tx) error {
			_, err := tx.Session("s")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
