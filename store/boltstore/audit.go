package boltstore

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/tes-project/tes/store"
)

// Audit entries are keyed by their sequence, big-endian, so the bucket's
// order is the log's; the bucket's own sequence numbers them.

func (t *tx) AppendAudit(e store.AuditEntry) error {
	if err := t.writable("AppendAudit"); err != nil {
		return err
	}
	if e.Action == "" || e.Actor == "" {
		return fmt.Errorf("boltstore: audit entry without action or actor: %w", store.ErrInvalid)
	}
	b := t.btx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("boltstore: audit sequence: %w", err)
	}
	e.Seq = seq
	return t.putJSON(bucketAudit, binary.BigEndian.AppendUint64(nil, seq), e)
}

func (t *tx) AuditLog(q store.AuditQuery) ([]store.AuditEntry, string, error) {
	if err := t.usable("AuditLog"); err != nil {
		return nil, "", err
	}
	if err := store.CheckLimit(q.Limit); err != nil {
		return nil, "", err
	}
	c := t.btx.Bucket(bucketAudit).Cursor()
	k, v := c.Last()
	if q.After != "" {
		cur, err := store.ParseCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		seq, err := strconv.ParseUint(cur.ID, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("boltstore: audit cursor: %w", store.ErrInvalid)
		}
		k, v = c.Seek(binary.BigEndian.AppendUint64(nil, seq))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	var list []store.AuditEntry
	for ; k != nil; k, v = c.Prev() {
		var e store.AuditEntry
		if err := decodeJSON(bucketAudit, v, &e); err != nil {
			return nil, "", err
		}
		if q.IssuerID != "" && e.IssuerID != q.IssuerID {
			continue
		}
		if q.Limit > 0 && len(list) == q.Limit {
			last := list[len(list)-1]
			return list, store.Cursor{At: last.At, ID: strconv.FormatUint(last.Seq, 10)}.Encode(), nil
		}
		list = append(list, e)
	}
	return list, "", nil
}
