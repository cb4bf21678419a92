package boltstore

import (
	"fmt"

	"github.com/tes-project/tes/store"
)

func (t *tx) ScriptVersion(issuerID, hash string) (store.ScriptVersion, error) {
	if err := t.usable("ScriptVersion"); err != nil {
		return store.ScriptVersion{}, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "hash", hash); err != nil {
		return store.ScriptVersion{}, err
	}
	return mustGet(t, bucketScriptVersions, joinKey(false, issuerID, hash), fromJSON[store.ScriptVersion],
		fmt.Sprintf("script version %q of issuer %q", hash, issuerID))
}

func (t *tx) PutScriptVersion(v store.ScriptVersion) error {
	if err := t.writable("PutScriptVersion"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", v.IssuerID, "hash", v.Hash); err != nil {
		return err
	}
	return t.putJSON(bucketScriptVersions, joinKey(false, v.IssuerID, v.Hash), v)
}

func (t *tx) DeleteScriptVersion(issuerID, hash string) error {
	if err := t.writable("DeleteScriptVersion"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", issuerID, "hash", hash); err != nil {
		return err
	}
	if err := t.btx.Bucket(bucketScriptVersions).Delete(joinKey(false, issuerID, hash)); err != nil {
		return fmt.Errorf("boltstore: delete script version %q of issuer %q: %w", hash, issuerID, err)
	}
	return nil
}
