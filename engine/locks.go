package engine

import (
	"context"
	"sync"
)

// deviceLocks serializes the requests of one device inside this process, so
// that concurrent identical requests run the step once and the others see
// its result as a replay. The store's compare-and-swap still guards against
// writers the locks do not cover (the sweeper).
type deviceLocks struct {
	mu   sync.Mutex // guards held and every deviceLock.users
	held map[string]*deviceLock
}

type deviceLock struct {
	sem   chan struct{} // capacity 1: full while a request holds the device
	users int           // requests holding or waiting; the entry goes at 0
}

// lock waits until the device is free or ctx ends, and returns the unlock.
func (d *deviceLocks) lock(ctx context.Context, key string) (func(), error) {
	d.mu.Lock()
	l := d.held[key]
	if l == nil {
		l = &deviceLock{sem: make(chan struct{}, 1)}
		d.held[key] = l
	}
	l.users++
	d.mu.Unlock()

	select {
	case l.sem <- struct{}{}:
		return func() {
			<-l.sem
			d.leave(key, l)
		}, nil
	case <-ctx.Done():
		d.leave(key, l)
		return nil, ctx.Err()
	}
}

func (d *deviceLocks) leave(key string, l *deviceLock) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l.users--
	if l.users == 0 {
		delete(d.held, key)
	}
}
