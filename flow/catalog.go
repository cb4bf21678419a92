package flow

import (
	"context"
	"time"
)

// IssuerStatus says what is loaded for one issuer: the version serving new
// operations and, when the last load failed, why.
type IssuerStatus struct {
	IssuerID string
	Version  string    // content hash of the serving version; empty if none ever loaded
	LoadedAt time.Time // when the serving version was swapped in
	// Error is the last load's failure as "file:line: message"; empty when
	// the last load succeeded.
	Error string
}

// Catalog is the operator's view of the loaded issuers (admin API). Safe for
// concurrent use.
type Catalog interface {
	Statuses() []IssuerStatus
	// Reload reads every issuer folder again and swaps in what loads;
	// it returns an error only when the reload could not run at all.
	Reload(ctx context.Context) error
}
