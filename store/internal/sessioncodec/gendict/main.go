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
