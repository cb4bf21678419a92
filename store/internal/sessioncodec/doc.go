// Package sessioncodec is the stored form of a store.Session shared by the
// backends: a compact binary record (the format is described beside
// Format) whose head — revision, issuer, device, state, the indexed times,
// card and IDm — decodes alone; and the stored form of a trace entry,
// compressed against a dictionary of typical entries built into the
// binary (tracedict.go; command gendict makes one).
//
// It is internal to package store: the form is the backends' business,
// not the engine's. It is not a wire format and carries no versioning
// beyond its first byte (and, for a trace entry, its dictionary's id).
package sessioncodec
