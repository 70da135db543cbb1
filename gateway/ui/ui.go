// Package ui is the gateway's web UI: plain HTML, JavaScript and CSS in
// static/, embedded in the binary (no build step), served by Handler. The
// pages use only the gateway's HTTP API (package gateway, /api/v1/...).
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the UI's files; "/" is static/index.html.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return http.FileServerFS(sub)
}
