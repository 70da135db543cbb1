package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/puddlestore/puddlestore/gateway/ui"
)

// TestStatic checks that the embedded files are served, with content types
// a browser accepts (ES modules are refused unless served as JavaScript).
func TestStatic(t *testing.T) {
	srv := httptest.NewServer(ui.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `<script type="module" src="js/app.js">`},
		{"/index.html", "", ""}, // FileServer redirects it to "/"
		{"/style.css", "text/css", "--accent"},
		{"/js/app.js", "text/javascript", "hashchange"},
		{"/js/api.js", "text/javascript", "/api/v1"},
		{"/js/dom.js", "text/javascript", "export function h("},
		{"/js/shell.js", "text/javascript", "class Poller"},
		{"/js/files.js", "text/javascript", "upload"},
		{"/js/cluster.js", "text/javascript", "meta-row"},
		{"/js/overlay.js", "text/javascript", "overlay-node"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s", tc.path, resp.Status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.contentType)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/no-such-file.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-file.js: %s, want 404", resp.Status)
	}
}
