package engine

import "sync"

// stepSlots gives each issuer its own slots for running steps, so that one
// issuer's runaway steps queue behind each other and never in front of
// another issuer's (CONTRACT.md §1.7). An issuer's slots are made the first
// time it runs a step and kept: issuers are few.
type stepSlots struct {
	perIssuer int
	mu        sync.Mutex // guards byIssuer
	byIssuer  map[string]chan struct{}
}

func newStepSlots(perIssuer int) *stepSlots {
	return &stepSlots{perIssuer: perIssuer, byIssuer: map[string]chan struct{}{}}
}

// of returns the issuer's slots: send to take one, receive to give it back.
func (s *stepSlots) of(issuerID string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	slots, ok := s.byIssuer[issuerID]
	if !ok {
		slots = make(chan struct{}, s.perIssuer)
		s.byIssuer[issuerID] = slots
	}
	return slots
}
