package boltstore

import (
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

// Sessions are kept in the compact binary form of package sessioncodec,
// which PostgreSQL's backend shares; a record that starts with '{' is JSON,
// as written by earlier versions, and still reads.

// sessionHead is what PutSession needs of the stored session.
type sessionHead = sessioncodec.Head

func encodeSession(dst []byte, s store.Session, traceKeys []uint64) []byte {
	return sessioncodec.Encode(dst, s, traceKeys)
}

// decodeSession reads a stored session without its trace, which a record
// of an earlier format holds (SessionTrace reads it).
func decodeSession(data []byte) (store.Session, error) {
	s, err := sessioncodec.Decode(data)
	s.Trace = nil
	return s, err
}

func decodeSessionHead(data []byte) (sessionHead, error) { return sessioncodec.DecodeHead(data) }
