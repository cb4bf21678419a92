package boltstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errMemberFailed rolls back a group's transaction when one member's
// closure failed; it never reaches a caller.
var errMemberFailed = errors.New("boltstore: a closure of the group failed")

// committer is the store's only writer. Updates queue their closures; it
// runs everything queued so far in one transaction and commits it with one
// pair of fsyncs. Writers that arrive while a commit is in flight form the
// next group, so a lone writer never waits for company and a crowd shares
// its fsyncs: no timer decides the size of a group, the disk does.
type committer struct {
	db     *bolt.DB
	linger time.Duration // Options.GroupCommit: extra wait for a group to fill

	mu      sync.Mutex
	queue   []*pendingUpdate
	stopped bool

	wake   chan struct{} // capacity 1: a token means the queue may have work
	exited chan struct{} // closed when run returns
}

// pendingUpdate is one Update waiting for its group's commit.
type pendingUpdate struct {
	fn   func(*bolt.Tx) error
	done chan updateResult // capacity 1
}

// updateResult is what an Update returns, or the panic its closure raised,
// to be raised again in the caller's goroutine.
type updateResult struct {
	err      error
	panicked bool
	panic    any
}

func (r updateResult) failed() bool { return r.err != nil || r.panicked }

func startCommitter(db *bolt.DB, linger time.Duration) *committer {
	c := &committer{db: db, linger: linger, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	go c.run()
	return c
}

// update queues fn and waits for the commit of its group. It raises fn's
// panic, if fn panicked, in the caller's goroutine as bolt.DB.Update does.
func (c *committer) update(fn func(*bolt.Tx) error) error {
	p := &pendingUpdate{fn: fn, done: make(chan updateResult, 1)}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return errCommitterStopped
	}
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // a token is already there
	}
	r := <-p.done
	if r.panicked {
		panic(r.panic)
	}
	return r.err
}

// errCommitterStopped: Update raced Close and lost; Store.Update reports it
// as store.ErrClosed.
var errCommitterStopped = errors.New("boltstore: writer stopped")

// stop lets the queued updates commit, then ends the writer.
func (c *committer) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	for range c.wake {
		if c.linger > 0 {
			time.Sleep(c.linger)
		}
		for {
			c.mu.Lock()
			group, stopped := c.queue, c.stopped
			c.queue = nil
			c.mu.Unlock()
			if len(group) == 0 {
				if stopped {
					return
				}
				break
			}
			c.commitGroup(group)
		}
	}
}

// commitGroup commits group in one transaction. A member whose closure
// fails is taken out and the rest run again in a new transaction: a
// closure's error fails only its own Update. A member that failed first in
// its transaction ran alone on committed data, so its error stands; one
// that failed after others runs again once they have committed.
func (c *committer) commitGroup(group []*pendingUpdate) {
	var retry []*pendingUpdate
	for len(group) > 0 {
		failed, failure := -1, updateResult{}
		err := c.db.Update(func(btx *bolt.Tx) error {
			fillAppendOrdered(btx)
			for i, p := range group {
				if r := p.run(btx); r.failed() {
					failed, failure = i, r
					return errMemberFailed
				}
			}
			return nil
		})
		if failed < 0 {
			for _, p := range group {
				p.done <- updateResult{err: err}
			}
			break
		}
		if failed == 0 {
			group[0].done <- failure
		} else {
			retry = append(retry, group[failed])
		}
		group = append(group[:failed:failed], group[failed+1:]...)
	}
	if len(retry) > 0 {
		c.commitGroup(retry)
	}
}

// run calls the closure, turning a panic into a result.
func (p *pendingUpdate) run(btx *bolt.Tx) (r updateResult) {
	defer func() {
		if v := recover(); v != nil {
			r = updateResult{panicked: true, panic: v, err: fmt.Errorf("boltstore: closure panicked: %v", v)}
		}
	}()
	return updateResult{err: p.fn(btx)}
}
