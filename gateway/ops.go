package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/puddlestore/puddlestore/meta"
)

// mkdir makes a directory (?parents=1: and the missing ones above it)
// and replies 201 with its stat.
func (g *Gateway) mkdir(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	parents, err := boolParam(r, "parents")
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if parents {
		err = g.c.MkdirAll(r.Context(), p)
	} else {
		err = g.c.Mkdir(r.Context(), p)
	}
	if err != nil {
		g.fail(w, r, err)
		return
	}
	g.replyStat(w, r, p, http.StatusCreated)
}

// renameRequest is the rename route's body.
type renameRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// rename moves a file or directory, with its history, and replies with
// the stat of its new path.
func (g *Gateway) rename(w http.ResponseWriter, r *http.Request) {
	var req renameRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			g.fail(w, r, err)
			return
		}
		g.fail(w, r, invalid("rename: body: want {\"from\": \"/a\", \"to\": \"/b\"}: %v", err))
		return
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		g.fail(w, r, invalid("rename: body: one JSON object expected"))
		return
	}
	if req.From == "" || req.To == "" {
		g.fail(w, r, invalid("rename: body: want {\"from\": \"/a\", \"to\": \"/b\"}, both set"))
		return
	}
	from, err := meta.CleanPath(req.From)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	to, err := meta.CleanPath(req.To)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if err := g.c.Rename(r.Context(), from, to); err != nil {
		g.fail(w, r, err)
		return
	}
	g.replyStat(w, r, to, http.StatusOK)
}

// stat describes an entry (?at= as of a time).
func (g *Gateway) stat(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	c, err := g.view(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	info, err := c.Stat(r.Context(), p)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newInfoJSON(p, info, true))
}

func (g *Gateway) replyStat(w http.ResponseWriter, r *http.Request, p string, code int) {
	info, err := g.c.Stat(r.Context(), p)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	writeJSON(w, code, newInfoJSON(p, info, true))
}

// history lists a file's versions, oldest first (?at= as of a time).
func (g *Gateway) history(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	c, err := g.view(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	vs, err := c.History(r.Context(), p)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	out := historyJSON{Path: p, Versions: make([]versionJSON, len(vs))}
	for i, v := range vs {
		out.Versions[i] = newVersionJSON("", v)
	}
	writeJSON(w, http.StatusOK, out)
}

// restore makes ?version=N the file's current content, as a new version.
func (g *Gateway) restore(w http.ResponseWriter, r *http.Request) {
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
	if n == 0 {
		g.fail(w, r, invalid("restore %s: ?version=N is required", p))
		return
	}
	v, err := g.c.Restore(r.Context(), p, n)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etagOf(v))
	writeJSON(w, http.StatusOK, newVersionJSON(p, v))
}
