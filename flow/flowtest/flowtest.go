package flowtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tes-project/tes/flow"
)

// StepFunc runs one step of an operation.
type StepFunc func(ctx context.Context, in flow.Input) (flow.Result, error)

// Issuer is a flow.Issuer backed by a Go function. Safe for concurrent use
// once built; do not change its fields after handing it to a Registry.
type Issuer struct {
	IssuerID string
	Ver      string
	Config   flow.Settings
	Run      StepFunc

	calls atomic.Int64
}

// NewIssuer returns an issuer with the DEMO issuer's operations, a 60 s TTL
// and a 50 ms step limit, running run.
func NewIssuer(id, version string, run StepFunc) *Issuer {
	return &Issuer{
		IssuerID: id,
		Ver:      version,
		Config:   flow.Settings{TTL: 60 * time.Second, StepTimeout: 50 * time.Millisecond},
		Run:      run,
	}
}

// ID returns the issuer id.
func (i *Issuer) ID() string { return i.IssuerID }

// Version returns the version the test gave.
func (i *Issuer) Version() string { return i.Ver }

// Settings returns the test's settings.
func (i *Issuer) Settings() flow.Settings { return i.Config }

// Resolve knows the DEMO issuer's operations and aliases (CONTRACT.md §1.4).
func (i *Issuer) Resolve(endpoint flow.Endpoint, requested string, hasPurchase bool) (string, bool) {
	switch endpoint {
	case flow.EndpointCard:
		switch requested {
		case "":
			if hasPurchase {
				return "TOPUP", true
			}
			return "READ", true
		case "TOPUP", "READ", "REFUND":
			return requested, true
		}
	case flow.EndpointPark:
		switch requested {
		case "", "PARK", "BLOCK_AND_READ_CARD":
			return "PARK", true
		}
	case flow.EndpointReaderMode:
		switch requested {
		case "", "READER_MODE":
			return "READER_MODE", true
		}
	}
	return "", false
}

// Step counts the call and runs the test's function.
func (i *Issuer) Step(ctx context.Context, in flow.Input) (flow.Result, error) {
	i.calls.Add(1)
	return i.Run(ctx, in)
}

// Calls reports how many steps ran.
func (i *Issuer) Calls() int64 { return i.calls.Load() }

// Registry is a flow.Registry over Issuers; every version ever set stays
// available to Pinned. Safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex // guards current and versions
	current  map[string]*Issuer
	versions map[string]*Issuer // issuerID + "@" + version
}

// NewRegistry returns a registry serving the given issuers.
func NewRegistry(issuers ...*Issuer) *Registry {
	r := &Registry{current: map[string]*Issuer{}, versions: map[string]*Issuer{}}
	for _, iss := range issuers {
		r.Set(iss)
	}
	return r
}

// Set makes iss the serving version of its issuer, as a reload would.
func (r *Registry) Set(iss *Issuer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current[iss.IssuerID] = iss
	r.versions[iss.IssuerID+"@"+iss.Ver] = iss
}

// Remove unloads an issuer; its versions stay available to Pinned.
func (r *Registry) Remove(issuerID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.current, issuerID)
}

// Current returns the serving version.
func (r *Registry) Current(issuerID string) (flow.Issuer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	iss, ok := r.current[issuerID]
	if !ok {
		return nil, false
	}
	return iss, true
}

// Pinned returns any version ever set.
func (r *Registry) Pinned(_ context.Context, issuerID, version string) (flow.Issuer, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	iss, ok := r.versions[issuerID+"@"+version]
	if !ok {
		return nil, fmt.Errorf("issuer %s version %s: %w", issuerID, version, flow.ErrVersionGone)
	}
	return iss, nil
}
