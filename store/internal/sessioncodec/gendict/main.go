// Command gendict makes a trace dictionary for package sessioncodec from the
// sessions of a bbolt store: the fields of every trace entry of one
// session of each issuer, operation and final status code, in the order of
// the store's search (newest first), cut to the 64 KiB an S2 dictionary
// holds.
//
// The corpus is what the built-in issuers do under load. Dictionary 1
// (tracedict1.bin) was made with the tes of the commit before it, from
// this directory of the repository:
//
//	tes bench --in-process --data /tmp/corpus --issuer DEMO --count 300 --mix TOPUP=3,READ=1,REFUND=1,PARK=1,READER_MODE=1
//	tes bench --in-process --data /tmp/corpus --issuer DEMOAES --count 200 --mix TOPUP=3,READ=1,REFUND=1
//	go run ./store/internal/sessioncodec/gendict -data /tmp/corpus -o store/internal/sessioncodec/tracedict1.bin
//
// A dictionary, once shipped, never changes (stored entries name it): a new
// one goes to a new file and id, beside the old.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/s2"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

func main() {
	data := flag.String("data", "", "data directory of the store that holds the corpus")
	out := flag.String("o", "", "file to write the dictionary to")
	flag.Parse()
	if *data == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), filepath.Join(*data, node.StoreFile), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gendict:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path, out string) error {
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	var history []byte
	kinds := map[string]bool{}
	err = st.View(ctx, func(tx store.Tx) error {
		sessions, _, err := tx.SearchSessions(store.SessionQuery{})
		if err != nil {
			return err
		}
		for _, s := range sessions {
			kind := fmt.Sprintf("%s %s %d", s.IssuerID, s.Operation, s.LastReply.StatusCode)
			if kinds[kind] {
				continue
			}
			kinds[kind] = true
			trace, err := tx.SessionTrace(s.ID)
			if err != nil {
				return err
			}
			for _, e := range trace {
				history = sessioncodec.AppendEntryFields(history, e)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(history) > s2.MaxDictSize {
		history = history[len(history)-s2.MaxDictSize:]
	}
	dict := s2.MakeDict(history, nil)
	if dict == nil {
		return errors.New("too few sessions for a dictionary")
	}
	if err := os.WriteFile(out, dict.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d kinds of session, %d bytes of dictionary\n", len(kinds), len(history))
	return nil
}
