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

func encodeSession(dst []byte, s store.Session) []byte { return sessioncodec.Encode(dst, s) }

func decodeSession(data []byte) (store.Session, error) { return sessioncodec.Decode(data) }

func decodeSessionHead(data []byte) (sessionHead, error) { return sessioncodec.DecodeHead(data) }
