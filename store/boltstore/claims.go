package boltstore

import (
	"fmt"
	"slices"

	"github.com/tes-project/tes/store"
)

// Claims live in sessions.claims, keyed issuer NUL kind NUL id, valued with
// the id of the open session that holds them. PutSession is their only
// writer, so a claim exists exactly while its session is open and names
// that card.

func claimKey(issuerID string, c store.Claim) []byte {
	return joinKey(false, issuerID, string(c.Kind), c.ID)
}

// heldClaims are the claims s holds when stored: none once it ended.
func heldClaims(s store.Session) []store.Claim {
	if s.State != store.SessionOpen {
		return nil
	}
	return s.Claims()
}

// checkClaims fails with ErrClaimed when another session holds a claim s
// would take. It writes nothing, so PutSession can refuse before it writes.
func (t *tx) checkClaims(s store.Session) error {
	b := t.btx.Bucket(bucketClaims)
	for _, c := range heldClaims(s) {
		if err := store.CheckClaim(c); err != nil {
			return err
		}
		if holder := b.Get(claimKey(s.IssuerID, c)); holder != nil && string(holder) != s.ID {
			return fmt.Errorf("boltstore: session %q: %s %q is held by session %q: %w",
				s.ID, c.Kind, c.ID, holder, store.ErrClaimed)
		}
	}
	return nil
}

// moveClaims releases the claims old held and s no longer holds, and takes
// those of s it does not hold yet: a claim that stays is not put again,
// since a put dirties its page, which the commit then writes whole.
func (t *tx) moveClaims(old store.Session, found bool, s store.Session) error {
	b := t.btx.Bucket(bucketClaims)
	kept := heldClaims(s)
	if found {
		for _, c := range heldClaims(old) {
			key := claimKey(old.IssuerID, c)
			if string(b.Get(key)) != old.ID || (old.IssuerID == s.IssuerID && slices.Contains(kept, c)) {
				continue
			}
			if err := b.Delete(key); err != nil {
				return fmt.Errorf("boltstore: release %s %q of session %q: %w", c.Kind, c.ID, old.ID, err)
			}
		}
	}
	for _, c := range kept {
		key := claimKey(s.IssuerID, c)
		if string(b.Get(key)) == s.ID {
			continue
		}
		if err := b.Put(key, []byte(s.ID)); err != nil {
			return fmt.Errorf("boltstore: claim %s %q for session %q: %w", c.Kind, c.ID, s.ID, err)
		}
	}
	return nil
}

func (t *tx) ClaimHolder(issuerID string, c store.Claim) (string, error) {
	if err := t.usable("ClaimHolder"); err != nil {
		return "", err
	}
	if err := store.CheckKey("issuer id", issuerID); err != nil {
		return "", err
	}
	if err := store.CheckClaim(c); err != nil {
		return "", err
	}
	holder := t.btx.Bucket(bucketClaims).Get(claimKey(issuerID, c))
	if holder == nil {
		return "", fmt.Errorf("boltstore: %s %q of issuer %q: %w", c.Kind, c.ID, issuerID, store.ErrNotFound)
	}
	return string(holder), nil
}
