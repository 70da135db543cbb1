package meta

import "strings"

// Limits on names and paths, in bytes (those of Linux's NAME_MAX and
// PATH_MAX, so that a tree can be copied to a local disk and back).
const (
	MaxName = 255
	MaxPath = 4096
)

// CleanPath checks that p names a file or directory and returns it in its
// one canonical form. A valid path is absolute and slash-separated, at most
// MaxPath bytes, and each element is non-empty, at most MaxName bytes, free
// of NUL, and neither "." nor "..". The only cleaning is dropping a single
// trailing slash ("/a/b/" is "/a/b"), which shells add; "." and ".." are
// refused rather than resolved, because resolving them needs a working
// directory, which only the client has. The root is "/".
//
// Every path the state machine stores has passed CleanPath, so a path
// names one entry in exactly one way.
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", errf(KindInvalid, p, "empty path")
	}
	if p[0] != '/' {
		return "", errf(KindInvalid, p, "not absolute")
	}
	if n := len(p); n > 2 && p[n-1] == '/' && p[n-2] != '/' {
		p = p[:n-1]
	}
	if len(p) > MaxPath {
		return "", errf(KindInvalid, p[:64]+"...", "path longer than %d bytes", MaxPath)
	}
	if p == "/" {
		return p, nil
	}
	for rest := p[1:]; ; {
		name, more, found := strings.Cut(rest, "/")
		if msg := checkName(name); msg != "" {
			return "", errf(KindInvalid, p, "%s", msg)
		}
		if !found {
			return p, nil
		}
		rest = more
	}
}

// checkName returns why name is not a valid path element, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "empty path element"
	case name == "." || name == "..":
		return "path element " + name + " (paths are absolute and clean)"
	case len(name) > MaxName:
		return "path element longer than 255 bytes"
	case strings.IndexByte(name, 0) >= 0:
		return "NUL in path"
	case strings.IndexByte(name, '/') >= 0:
		return "slash in a name"
	}
	return ""
}

// split returns the parent directory and the last element of a clean,
// non-root path.
func split(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

// under reports whether p is root or lies beneath it (or is it).
func under(p, root string) bool {
	return p == root || root == "/" || strings.HasPrefix(p, root) && p[len(root)] == '/'
}
