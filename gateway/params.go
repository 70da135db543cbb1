package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

// invalid is an error of the request itself: 400, kind invalid.
func invalid(format string, args ...any) error {
	return &meta.Error{Op: "gateway", Kind: meta.KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// filePath returns the absolute, clean path a route's {path...} names
// ("" is the root). A trailing slash is allowed.
func filePath(r *http.Request) (string, error) {
	return meta.CleanPath("/" + r.PathValue("path"))
}

// versionParam reads ?version=N (0 when absent).
func versionParam(r *http.Request) (uint64, error) {
	s := r.URL.Query().Get("version")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, invalid("version %s: want a version number, 1 or more", quoteShort(s))
	}
	return n, nil
}

// boolParam reads a flag such as ?recursive=1.
func boolParam(r *http.Request, name string) (bool, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return false, nil
	}
	s := q.Get(name)
	if s == "" {
		return true, nil // ?recursive
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid("%s=%s: want 1 or 0", name, quoteShort(s))
	}
	return b, nil
}

// parseAt reads a time: RFC 3339, unix seconds, or a duration before now
// ("5m": five minutes ago).
func parseAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec > 0 && sec < 1<<33 {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, invalid("at=%s: want an RFC 3339 time (2026-11-23T18:00:00Z), unix seconds, or a duration ago (5m)", quoteShort(s))
}

// view returns the gateway's client, or its view as of ?at=.
func (g *Gateway) view(r *http.Request) (*client.Client, error) {
	s := r.URL.Query().Get("at")
	if s == "" {
		return g.c, nil
	}
	t, err := parseAt(s, time.Now())
	if err != nil {
		return nil, err
	}
	return g.c.AsOf(t), nil
}
