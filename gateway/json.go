package gateway

import (
	"fmt"
	"path"
	"time"

	"github.com/puddlestore/puddlestore/meta"
)

// The replies' JSON shapes. They are the gateway's own, with snake_case
// keys, so that renaming a Go field elsewhere never changes the API.

// versionJSON is one version of a file.
type versionJSON struct {
	Path    string `json:"path,omitempty"`
	Version uint64 `json:"version"`
	Size    uint64 `json:"size"`
	Time    string `json:"time"`
	Writer  string `json:"writer"`
	Mode    string `json:"mode"`
	ETag    string `json:"etag"`
	Inline  bool   `json:"inline"`
}

func newVersionJSON(p string, v meta.Version) versionJSON {
	return versionJSON{Path: p, Version: v.Number, Size: v.Size, Time: timeJSON(v.Time), Writer: v.Writer,
		Mode: modeJSON(v.Mode), ETag: etagOf(v), Inline: v.Inline}
}

// infoJSON is an entry: a stat reply, or one entry of a listing (which
// leaves CTime and ETag out).
type infoJSON struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Dir      bool   `json:"dir"`
	Size     uint64 `json:"size"`
	Version  uint64 `json:"version"`
	MTime    string `json:"mtime"`
	CTime    string `json:"ctime,omitempty"`
	Mode     string `json:"mode"`
	Writer   string `json:"writer"`
	Versions uint64 `json:"versions"`
	ETag     string `json:"etag,omitempty"`
}

// newInfoJSON describes the entry at p; full adds CTime and ETag (stat).
func newInfoJSON(p string, i meta.Info, full bool) infoJSON {
	out := infoJSON{Name: i.Name, Path: p, Dir: i.Dir, Size: i.Size, Version: i.Version.Number,
		MTime: timeJSON(i.MTime), Mode: modeJSON(i.Mode), Writer: i.Version.Writer, Versions: i.Versions}
	if i.Dir {
		out.Writer = i.Owner
	}
	if out.Name == "" {
		out.Name = path.Base(p)
	}
	if full {
		out.CTime = timeJSON(i.CTime)
		if !i.Dir {
			out.ETag = etagOf(i.Version)
		}
	}
	return out
}

// listingJSON is a directory's GET reply.
type listingJSON struct {
	Path    string     `json:"path"`
	Dir     bool       `json:"dir"`
	Entries []infoJSON `json:"entries"`
}

// historyJSON is the history route's reply.
type historyJSON struct {
	Path     string        `json:"path"`
	Versions []versionJSON `json:"versions"`
}

// timeJSON formats unix nanoseconds as RFC 3339 in UTC ("" for zero).
func timeJSON(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// modeJSON formats permission bits in octal, e.g. "0644".
func modeJSON(m uint32) string { return fmt.Sprintf("%04o", m) }

// etagOf is a version's entity tag: its number and the first 16 hex
// digits of its ref, quoted (a strong validator: a version's content
// never changes).
func etagOf(v meta.Version) string {
	if v.Number == 0 {
		return ""
	}
	return fmt.Sprintf(`"%d-%s"`, v.Number, v.Ref.String()[:16])
}
