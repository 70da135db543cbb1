package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/overlay"
)

// The kinds of the JSON error bodies (doc.go, "Errors").
const (
	kindNotFound     = "not_found"
	kindExist        = "exists"
	kindConflict     = "conflict"
	kindPrecondition = "precondition_failed"
	kindNotDir       = "not_dir"
	kindIsDir        = "is_dir"
	kindNotEmpty     = "not_empty"
	kindInvalid      = "invalid"
	kindLocked       = "locked"
	kindUnavailable  = "unavailable"
	kindTooLarge     = "too_large"
	kindMethod       = "method_not_allowed"
	kindInternal     = "internal"
)

// errorBody is every error reply.
type errorBody struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
	// Current is the file's current version, on a failed precondition
	// or conflict (null when the file does not exist).
	Current *versionJSON `json:"current,omitempty"`
}

// statusOf maps an error to its HTTP status and kind, as the CLI maps
// it to an exit code (cmd/puddle/fs.go).
func statusOf(err error) (int, string) {
	var tooLarge *http.MaxBytesError
	switch meta.KindOf(err) {
	case meta.KindNotExist:
		return http.StatusNotFound, kindNotFound
	case meta.KindExist:
		return http.StatusConflict, kindExist
	case meta.KindInvalid:
		return http.StatusBadRequest, kindInvalid
	case meta.KindNotDir:
		return http.StatusConflict, kindNotDir
	case meta.KindIsDir:
		return http.StatusConflict, kindIsDir
	case meta.KindNotEmpty:
		return http.StatusConflict, kindNotEmpty
	case meta.KindConflict:
		return http.StatusConflict, kindConflict
	case meta.KindLocked:
		return http.StatusLocked, kindLocked
	}
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, kindTooLarge
	case errors.Is(err, fsys.ErrReadOnly):
		return http.StatusBadRequest, kindInvalid
	case errors.Is(err, client.ErrUnavailable), errors.Is(err, blocks.ErrUnavailable),
		errors.Is(err, overlay.ErrUnavailable), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, kindUnavailable
	}
	return http.StatusInternalServerError, kindInternal
}

// fail replies with err's status and kind. Internal errors are logged;
// so are the others' causes at debug level.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, kind := statusOf(err)
	body := errorBody{Error: err.Error(), Kind: kind}
	var me *meta.Error
	if kind == kindConflict && errors.As(err, &me) && me.Current != nil {
		v := newVersionJSON(me.Path, *me.Current)
		body.Current = &v
	}
	if code == http.StatusInternalServerError {
		g.log.Error("gateway: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		g.log.Debug("gateway: request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	writeJSON(w, code, body)
}

// writeError replies with an error of the gateway's own.
func writeError(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, errorBody{Error: "gateway: " + msg, Kind: kind})
}

// writeJSON replies with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the gateway's own reply types are encoded: a broken
		// invariant, reported rather than panicking on a live server.
		code = http.StatusInternalServerError
		b = []byte(`{"error":"gateway: encoding the reply: ` + jsonEscape(err.Error()) + `","kind":"internal"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func quoteShort(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
