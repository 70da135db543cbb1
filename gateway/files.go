package gateway

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
)

// getFile serves a file's content, or a directory's listing (GET, HEAD).
func (g *Gateway) getFile(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	n, err := versionParam(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	c, err := g.view(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	ctx := r.Context()
	info, err := c.Stat(ctx, p)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if info.Dir {
		if n != 0 {
			g.fail(w, r, &meta.Error{Op: "open", Kind: meta.KindIsDir, Path: p, Msg: "a directory has no versions"})
			return
		}
		g.list(w, r, c, p)
		return
	}
	f, err := c.OpenVersion(ctx, p, n)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	defer f.Close()
	v := f.Version()
	h := w.Header()
	h.Set("ETag", etagOf(v))
	h.Set("X-Puddle-Version", strconv.FormatUint(v.Number, 10))
	h.Set("Accept-Ranges", "bytes")
	// The content is the users', served from the UI's origin: never let
	// a browser sniff it into HTML, nor run scripts an HTML file holds.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		h.Set("Content-Type", t)
	}
	// ServeContent sniffs the type when the extension says nothing, and
	// answers Range, If-Range, If-None-Match (from the ETag above) and
	// If-Modified-Since; it reads only the ranges asked for.
	http.ServeContent(w, r, p, time.Unix(0, v.Time), f)
}

// list replies with a directory's entries.
func (g *Gateway) list(w http.ResponseWriter, r *http.Request, c *client.Client, p string) {
	infos, err := c.ReadDir(r.Context(), p)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	out := listingJSON{Path: p, Dir: true, Entries: make([]infoJSON, len(infos))}
	for i, info := range infos {
		out.Entries[i] = newInfoJSON(path.Join(p, info.Name), info, false)
	}
	writeJSON(w, http.StatusOK, out)
}

// putFile stores the request's body as a new version of the file,
// making the directories above it (PUT).
func (g *Gateway) putFile(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if p == "/" {
		g.fail(w, r, &meta.Error{Op: "write", Kind: meta.KindIsDir, Path: p})
		return
	}
	ctx := r.Context()
	// The preconditions are checked before reading the body, so a
	// refused upload costs no transfer; the commit's compare-and-swap
	// then holds them against a writer racing in between.
	expect, err := g.precondition(r, p)
	if err != nil {
		var pf *preconditionError
		if errors.As(err, &pf) {
			g.failPrecondition(w, r, pf)
			return
		}
		g.fail(w, r, err)
		return
	}
	if dir := path.Dir(p); dir != "/" {
		if err := g.c.MkdirAll(ctx, dir); err != nil {
			g.fail(w, r, err)
			return
		}
	}
	body := io.Reader(r.Body)
	if g.cfg.MaxUpload > 0 {
		body = http.MaxBytesReader(w, r.Body, g.cfg.MaxUpload)
	}
	v, _, err := g.c.WriteFile(ctx, p, body, fsys.WriteOptions{Expect: expect})
	if err != nil {
		var me *meta.Error
		if expect.Match != meta.MatchAny && errors.As(err, &me) && me.Kind == meta.KindConflict {
			g.failPrecondition(w, r, &preconditionError{path: p, current: me.Current, msg: me.Error()})
			return
		}
		g.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if v.Number == 1 {
		code = http.StatusCreated // a new file (or one removed and made again)
		w.Header().Set("Location", r.URL.EscapedPath())
	}
	w.Header().Set("ETag", etagOf(v))
	w.Header().Set("X-Puddle-Version", strconv.FormatUint(v.Number, 10))
	writeJSON(w, code, newVersionJSON(p, v))
}

// preconditionError: an If-Match or If-None-Match that does not hold.
type preconditionError struct {
	path    string
	current *meta.Version // nil: the file does not exist
	msg     string
}

func (e *preconditionError) Error() string { return e.msg }

func (g *Gateway) failPrecondition(w http.ResponseWriter, r *http.Request, e *preconditionError) {
	body := errorBody{Error: "gateway: precondition failed: " + e.msg, Kind: kindPrecondition}
	if e.current != nil {
		v := newVersionJSON(e.path, *e.current)
		body.Current = &v
		w.Header().Set("ETag", v.ETag)
	}
	writeJSON(w, http.StatusPreconditionFailed, body)
}

// precondition turns a PUT's If-Match and If-None-Match into the
// commit's expectation, or refuses the request when they do not hold of
// the current version.
func (g *Gateway) precondition(r *http.Request, p string) (meta.Expect, error) {
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	info, err := g.c.Stat(r.Context(), p)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, meta.ErrNotExist):
		return meta.Expect{}, err
	case exists && info.Dir:
		return meta.Expect{}, &meta.Error{Op: "write", Kind: meta.KindIsDir, Path: p}
	}
	var cur *meta.Version
	var etag string
	if exists {
		cur, etag = &info.Version, etagOf(info.Version)
	}
	expect := meta.ExpectAny()
	if ifMatch != "" {
		if !exists {
			return expect, &preconditionError{path: p, msg: "If-Match " + ifMatch + ": " + p + " does not exist"}
		}
		if !etagListHas(ifMatch, etag) {
			return expect, &preconditionError{path: p, current: cur,
				msg: "If-Match " + ifMatch + ": the current version of " + p + " is " + etag}
		}
		expect = meta.ExpectVersion(info.Version)
	}
	if ifNone != "" {
		if strings.TrimSpace(ifNone) == "*" {
			if exists {
				return expect, &preconditionError{path: p, current: cur, msg: "If-None-Match *: " + p + " exists"}
			}
			return meta.ExpectAbsent(), nil
		}
		if exists && etagListHas(ifNone, etag) {
			return expect, &preconditionError{path: p, current: cur,
				msg: "If-None-Match " + ifNone + ": the current version of " + p + " is " + etag}
		}
		if expect.Match == meta.MatchAny {
			if exists {
				expect = meta.ExpectVersion(info.Version)
			} else {
				expect = meta.ExpectAbsent()
			}
		}
	}
	return expect, nil
}

// etagListHas reports whether a header's list of entity tags ("*", or
// quoted tags separated by commas) matches etag, by strong comparison
// (weak tags never match).
func etagListHas(list, etag string) bool {
	if etag == "" {
		return false
	}
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// deleteFile removes a file or directory (DELETE; ?recursive=1 for a
// directory that is not empty).
func (g *Gateway) deleteFile(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	recursive, err := boolParam(r, "recursive")
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if recursive {
		err = g.c.RemoveAll(r.Context(), p)
	} else {
		err = g.c.Remove(r.Context(), p)
	}
	if err != nil {
		g.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
