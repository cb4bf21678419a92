package boltstore

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// LastTxID is the id of the last committed write transaction; every commit
// adds one, so the difference over a run counts its commits.
func LastTxID(s *Store) (int, error) {
	var id int
	err := s.db.View(func(btx *bolt.Tx) error {
		id = btx.ID()
		return nil
	})
	return id, err
}

// CheckFile runs bbolt's consistency check over the whole file.
func CheckFile(s *Store) error {
	return s.db.View(func(btx *bolt.Tx) error {
		var errs []error
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// QueuedUpdates counts the Updates waiting for the writer.
func QueuedUpdates(s *Store) int {
	s.writer.mu.Lock()
	defer s.writer.mu.Unlock()
	return len(s.writer.queue)
}
