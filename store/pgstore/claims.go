package pgstore

import (
	"fmt"

	"github.com/tes-project/tes/store"
)

// Claims live in the claims table, one row per (issuer, kind, id), naming
// the open session that holds it. PutSession is their only writer, so a
// claim exists exactly while its session is open and names that card; the
// primary key lets one transaction of all processes take it.

// heldClaims are the claims s holds when stored: none once it ended.
func heldClaims(s store.Session) []store.Claim {
	if s.State != store.SessionOpen {
		return nil
	}
	return s.Claims()
}

// minus is the claims of a that b lacks.
func minus(a, b []store.Claim) []store.Claim {
	var out []store.Claim
	for _, c := range a {
		found := false
		for _, d := range b {
			if c == d {
				found = true
				break
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	return out
}

// checkClaim is store.CheckClaim with the id checked as checkID does.
func checkClaim(c store.Claim) error {
	if err := store.CheckClaim(c); err != nil {
		return err
	}
	return checkText("claim id", c.ID)
}

// checkClaims fails with ErrClaimed when another session holds one of the
// claims s would take. It writes nothing, so PutSession can refuse before
// it writes.
func (t *tx) checkClaims(s store.Session, taken []store.Claim) error {
	for _, c := range taken {
		holder, found, err := t.claimHolder(s.IssuerID, c)
		if err != nil {
			return err
		}
		if found && holder != s.ID {
			return fmt.Errorf("pgstore: session %q: %s %q is held by session %q: %w",
				s.ID, c.Kind, c.ID, holder, store.ErrClaimed)
		}
	}
	return nil
}

// moveClaims releases the claims s no longer holds and takes the new ones.
// A unique violation on a new one is a claim a concurrent transaction took
// after checkClaims looked: ErrClaimed (the transaction is aborted).
func (t *tx) moveClaims(s store.Session, released, taken []store.Claim) error {
	for _, c := range released {
		if _, err := t.exec("PutSession: release a claim",
			"DELETE FROM claims WHERE issuer_id = $1 AND kind = $2 AND claim_id = $3 AND session_id = $4",
			s.IssuerID, string(c.Kind), c.ID, s.ID); err != nil {
			return err
		}
	}
	for _, c := range taken {
		_, err := t.exec("PutSession: take a claim",
			"INSERT INTO claims (issuer_id, kind, claim_id, session_id) VALUES ($1, $2, $3, $4)",
			s.IssuerID, string(c.Kind), c.ID, s.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("pgstore: session %q: %s %q was taken by a concurrent session: %w: %w",
				s.ID, c.Kind, c.ID, store.ErrClaimed, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) claimHolder(issuerID string, c store.Claim) (string, bool, error) {
	var holder string
	found, err := t.scanOne("ClaimHolder",
		"SELECT session_id FROM claims WHERE issuer_id = $1 AND kind = $2 AND claim_id = $3",
		[]any{issuerID, string(c.Kind), c.ID}, &holder)
	return holder, found, err
}

func (t *tx) ClaimHolder(issuerID string, c store.Claim) (string, error) {
	if err := t.usable("ClaimHolder"); err != nil {
		return "", err
	}
	if err := checkID("issuer id", issuerID); err != nil {
		return "", err
	}
	if err := checkClaim(c); err != nil {
		return "", err
	}
	holder, found, err := t.claimHolder(issuerID, c)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("pgstore: %s %q of issuer %q: %w", c.Kind, c.ID, issuerID, store.ErrNotFound)
	}
	return holder, nil
}
