// Command gendict makes a trace dictionary for package sessioncodec from the
// sessions of a bbolt store: the fields of every trace entry of one
// session of each issuer, operation and final status code, in the order of
// the store's search (newest first), cut to the 64 KiB an S2 dictionary
// holds.
//
// The corpus is what the built-in issuers do under load. Dictionary 1
// (tracedict1.bin) was made from a corpus written by the tes of ebc9761
// (the commit before trace compression), from the repository's root:
//
//	tes bench --in-process --data /tmp/corpus --issuer DEMO --count 300 --mix TOPUP=3,READ=1,REFUND=1,PARK=1,READER_MODE=1
//	tes bench --in-process --data /tmp/corpus --issuer DEMOAES --count 200 --mix TOPUP=3,READ=1,REFUND=1
//	go run ./store/internal/sessioncodec/gendict -data /tmp/corpus -o store/internal/sessioncodec/tracedict1.bin
//
// A dictionary, once shipped, never changes (stored entries name it): a new
// one goes to a new file and id, beside the old.
//
// It is a tool for the people who change the codec, not part of the server.
package main
