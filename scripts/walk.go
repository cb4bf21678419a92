package scripts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits of one issuer folder. A folder past any of them is a load error of
// that issuer, found without reading further, so that a stray symlink or a
// dump into the folder costs one refused reload, never a crawl of the file
// system. An issuer needs a manifest, a few flows and libraries: these are
// an order of magnitude above that.
const (
	// maxIssuerFiles bounds the files read (those loaded, not ignored).
	maxIssuerFiles = 256
	// maxIssuerBytes bounds the sum of their sizes.
	maxIssuerBytes = 8 << 20
	// maxFileBytes bounds one file.
	maxFileBytes = 1 << 20
	// maxIssuerEntries bounds every name listed in the folder and below,
	// ignored ones and folders included: listing is work too.
	maxIssuerEntries = 1024
	// maxFolderDepth bounds how deep folders nest below the issuer folder.
	maxFolderDepth = 8
)

// errFolderRefused: the folder breaks a containment rule (a symlink leaving
// the issuers root, a loop, a limit). Reading it again cannot help.
var errFolderRefused = errors.New("issuer folder refused")

// walkIssuer visits the issuer folder name of fsys within the limits above:
// onDir (may be nil) for each folder, the issuer's first, and onFile (may
// be nil) for each regular file, with its path in fsys and its path below
// the issuer folder. Names that ignored() leaves out, dangling symlinks and
// entries that are neither files nor folders are skipped.
//
// root is the issuers root on disk, the folder fsys reads; empty for an
// embedded fsys (which has no symlinks). On disk every symlink, the issuer
// folder's own included, must resolve inside the root and must not lead
// back to a folder it is in; the first that does not ends the walk with an
// error matching errFolderRefused.
func walkIssuer(fsys fs.FS, root, name string, onDir func(dir string), onFile func(p, key string) error) error {
	w := &issuerWalk{fsys: fsys, name: name, onDir: onDir, onFile: onFile}
	var top string
	if root != "" {
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			return err
		}
		w.root = real
		info, err := os.Lstat(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		if top, err = w.resolve(name, info.Mode()&fs.ModeSymlink != 0, real); err != nil {
			return err
		}
		w.ancestors = []string{real}
	}
	return w.dir(name, "", top, 0)
}

// issuerWalk is one walkIssuer in progress.
type issuerWalk struct {
	fsys   fs.FS
	name   string // the issuer folder
	root   string // the issuers root with symlinks resolved; empty when embedded
	onDir  func(dir string)
	onFile func(p, key string) error
	// ancestors are the resolved paths of the folders being walked, the
	// root first: a folder that resolves to one of them is a loop.
	ancestors []string
	entries   int
	files     int
	bytes     int64
}

// refusedError is a containment rule broken; its message starts with the
// path that broke it ("DEMO/lib: a symlink to /, outside the issuers
// root"), as a status error should.
type refusedError struct{ msg string }

func (e *refusedError) Error() string        { return e.msg }
func (e *refusedError) Is(target error) bool { return target == errFolderRefused }

func refused(format string, args ...any) error {
	return &refusedError{msg: fmt.Sprintf(format, args...)}
}

// resolve is the real path of p, whose parent's real path is parent, after
// checking that a symlink stays inside the root. Embedded: "".
func (w *issuerWalk) resolve(p string, link bool, parent string) (string, error) {
	if w.root == "" {
		return "", nil
	}
	if !link {
		return filepath.Join(parent, path.Base(p)), nil
	}
	real, err := filepath.EvalSymlinks(filepath.Join(w.root, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		return "", refused("%s: a symlink that does not resolve (a loop?): %v", p, err)
	}
	if real != w.root && !strings.HasPrefix(real, w.root+string(filepath.Separator)) {
		return "", refused("%s: a symlink to %s, outside the issuers root", p, real)
	}
	return real, nil
}

// dir walks folder p (rel below the issuer folder), whose real path is real.
func (w *issuerWalk) dir(p, rel, real string, depth int) error {
	if depth > maxFolderDepth {
		return refused("%s: folders nest deeper than %d", p, maxFolderDepth)
	}
	if w.root != "" {
		if slices.Contains(w.ancestors, real) {
			return refused("%s: a symlink loop (it leads back to a folder it is in)", p)
		}
		w.ancestors = append(w.ancestors, real)
		defer func() { w.ancestors = w.ancestors[:len(w.ancestors)-1] }()
	}
	if w.onDir != nil {
		w.onDir(p)
	}
	entries, err := fs.ReadDir(w.fsys, p)
	if err != nil {
		return err
	}
	if w.entries += len(entries); w.entries > maxIssuerEntries {
		return refused("%s: more than %d names in the folder and below", w.name, maxIssuerEntries)
	}
	for _, e := range entries {
		if ignored(e.Name()) {
			continue
		}
		ep, key := path.Join(p, e.Name()), path.Join(rel, e.Name())
		link := e.Type()&fs.ModeSymlink != 0
		eReal, err := w.resolve(ep, link, real)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a dangling symlink
		}
		if err != nil {
			return err
		}
		info, err := fs.Stat(w.fsys, ep)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			if err := w.dir(ep, key, eReal, depth+1); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if w.files++; w.files > maxIssuerFiles {
				return refused("%s: more than %d files", w.name, maxIssuerFiles)
			}
			if info.Size() > maxFileBytes {
				return refused("%s: larger than %d bytes", ep, maxFileBytes)
			}
			if w.bytes += info.Size(); w.bytes > maxIssuerBytes {
				return refused("%s: more than %d bytes of files", w.name, maxIssuerBytes)
			}
			if w.onFile != nil {
				if err := w.onFile(ep, key); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
