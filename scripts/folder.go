package scripts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
)

// stableReads is how often a folder is read before a reload gives up on
// getting two identical reads in a row.
const stableReads = 4

// errUnstable: the folder changed on every read (a copy still under way); the
// watcher tries again at its next event.
var errUnstable = errors.New("the folder changed while it was read")

// ignored tells whether a file or folder name is left out of an issuer:
// hidden names (editor swap files, Kubernetes' ..data and its timestamped
// folders) and backups ending in "~".
func ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~")
}

// issuerNames lists the issuer folders under the root of fsys, following
// symlinks (a Kubernetes volume links each folder through ..data).
func issuerNames(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoIssuers, err)
	}
	var names []string
	for _, e := range entries {
		if !ignored(e.Name()) && isDir(fsys, e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// isDir tells whether name is a folder, after symlinks.
func isDir(fsys fs.FS, name string) bool {
	info, err := fs.Stat(fsys, name)
	return err == nil && info.IsDir()
}

// readStable reads an issuer folder until two reads in a row agree, so that
// a folder caught in the middle of a Kubernetes ..data swap or a copy is
// never loaded as a mix of old and new files. root is the issuers root on
// disk (empty for an embedded fsys): see walkIssuer. A folder past the
// limits is refused at the first read.
func readStable(fsys fs.FS, root, name string) (map[string][]byte, string, error) {
	var lastHash string
	var lastErr error
	for i := range stableReads {
		files, hash, err := readIssuer(fsys, root, name)
		if errors.Is(err, errFolderRefused) {
			return nil, "", err
		}
		if err == nil && i > 0 && lastErr == nil && hash == lastHash {
			return files, hash, nil
		}
		lastHash, lastErr = hash, err
	}
	if lastErr != nil {
		return nil, "", lastErr
	}
	return nil, "", fmt.Errorf("read issuer %s: %w", name, errUnstable)
}

// readIssuer reads the files of one issuer folder from fsys, following
// symlinks that stay inside the issuers root, and hashes them.
func readIssuer(fsys fs.FS, root, name string) (map[string][]byte, string, error) {
	files := map[string][]byte{}
	err := walkIssuer(fsys, root, name, nil, func(p, key string) error {
		data, err := readLimited(fsys, p)
		if err != nil {
			return err
		}
		files[key] = data
		return nil
	})
	if errors.Is(err, errFolderRefused) {
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("read issuer %s: %w", name, err)
	}
	return files, contentHash(files), nil
}

// readLimited reads a file of at most maxFileBytes, also when it grew
// since walkIssuer saw its size.
func readLimited(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, refused("%s: larger than %d bytes", p, maxFileBytes)
	}
	return data, nil
}

// contentHash is the version of an issuer folder: sha256 over its sorted
// paths and contents.
func contentHash(files map[string][]byte) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(files[p]))
		h.Write(files[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}
