package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/client"
)

// TestNamespace: mkdir, stat, rename, delete (recursive and not), with
// their errors.
func TestNamespace(t *testing.T) {
	var st infoJSON
	do(t, http.MethodPost, "/api/v1/mkdir/ns/a", nil).wantError(t, http.StatusNotFound, kindNotFound) // no /ns
	do(t, http.MethodPost, "/api/v1/mkdir/ns/a/b?parents=1", nil).want(t, http.StatusCreated).json(t, &st)
	if st.Name != "b" || st.Path != "/ns/a/b" || !st.Dir || st.Mode != "0755" || st.CTime == "" || st.ETag != "" {
		t.Fatalf("mkdir: %+v", st)
	}
	do(t, http.MethodPost, "/api/v1/mkdir/ns/a/b", nil).wantError(t, http.StatusConflict, kindExist)
	do(t, http.MethodPost, "/api/v1/mkdir/ns/a/b?parents=1", nil).want(t, http.StatusCreated)
	do(t, http.MethodPost, "/api/v1/mkdir/ns/a/b?parents=maybe", nil).wantError(t, http.StatusBadRequest, kindInvalid)

	v := put(t, "/ns/a/f.txt", []byte("content"), http.StatusCreated)
	do(t, http.MethodGet, "/api/v1/stat/ns/a/f.txt", nil).want(t, http.StatusOK).json(t, &st)
	if st.Name != "f.txt" || st.Dir || st.Size != 7 || st.Version != 1 || st.Versions != 1 || st.ETag != v.ETag ||
		st.Writer != "gateway" || st.Mode != "0644" || st.MTime == "" || st.CTime == "" {
		t.Fatalf("stat: %+v", st)
	}
	do(t, http.MethodGet, "/api/v1/stat/ns/nope", nil).wantError(t, http.StatusNotFound, kindNotFound)

	// Rename, with its history.
	put(t, "/ns/a/f.txt", []byte("content 2"), http.StatusOK)
	do(t, http.MethodPost, "/api/v1/rename", strings.NewReader(`{"from":"/ns/a/f.txt","to":"/ns/g.txt"}`)).
		want(t, http.StatusOK).json(t, &st)
	if st.Path != "/ns/g.txt" || st.Name != "g.txt" || st.Versions != 2 || st.Size != 9 {
		t.Fatalf("rename: %+v", st)
	}
	do(t, http.MethodGet, "/api/v1/files/ns/a/f.txt", nil).wantError(t, http.StatusNotFound, kindNotFound)
	put(t, "/ns/h.txt", []byte("h"), http.StatusCreated)
	for _, tc := range []struct {
		body string
		code int
		kind string
	}{
		{`{"from":"/ns/g.txt","to":"/ns/h.txt"}`, http.StatusConflict, kindExist},
		{`{"from":"/ns/none","to":"/ns/x"}`, http.StatusNotFound, kindNotFound},
		{`{"from":"/ns/g.txt"}`, http.StatusBadRequest, kindInvalid},
		{`{"from":"/ns/g.txt","to":"relative"}`, http.StatusBadRequest, kindInvalid},
		{`{"from":"/ns/g.txt","to":"/ns/../x"}`, http.StatusBadRequest, kindInvalid},
		{`{"from":"/ns/g.txt","to":"/ns/x","extra":1}`, http.StatusBadRequest, kindInvalid},
		{`{"from":"/ns/g.txt","to":"/ns/x"}{}`, http.StatusBadRequest, kindInvalid},
		{`not json`, http.StatusBadRequest, kindInvalid},
		{`{"from":"/ns/g.txt","to":"/ns/` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, kindTooLarge},
	} {
		do(t, http.MethodPost, "/api/v1/rename", strings.NewReader(tc.body)).wantError(t, tc.code, tc.kind)
	}
	do(t, http.MethodGet, "/api/v1/rename", nil).wantError(t, http.StatusMethodNotAllowed, kindMethod)

	// Delete: a file; a non-empty directory only recursively.
	do(t, http.MethodDelete, "/api/v1/files/ns/h.txt", nil).want(t, http.StatusNoContent)
	do(t, http.MethodDelete, "/api/v1/files/ns/h.txt", nil).wantError(t, http.StatusNotFound, kindNotFound)
	do(t, http.MethodDelete, "/api/v1/files/ns", nil).wantError(t, http.StatusConflict, kindNotEmpty)
	do(t, http.MethodDelete, "/api/v1/files/ns?recursive=1", nil).want(t, http.StatusNoContent)
	do(t, http.MethodGet, "/api/v1/stat/ns", nil).wantError(t, http.StatusNotFound, kindNotFound)
	do(t, http.MethodPost, "/api/v1/mkdir/ns2", nil).want(t, http.StatusCreated)
	do(t, http.MethodDelete, "/api/v1/files/ns2/", nil).want(t, http.StatusNoContent) // empty: no flag needed
}

// TestHistoryRestore: history lists versions oldest first; restore makes
// an old one current as a new version.
func TestHistoryRestore(t *testing.T) {
	for i, s := range []string{"one", "two", strings.Repeat("three", 2000)} {
		code := http.StatusOK
		if i == 0 {
			code = http.StatusCreated
		}
		put(t, "/hist/f", []byte(s), code)
	}
	var h historyJSON
	do(t, http.MethodGet, "/api/v1/history/hist/f", nil).want(t, http.StatusOK).json(t, &h)
	if h.Path != "/hist/f" || len(h.Versions) != 3 {
		t.Fatalf("history: %+v", h)
	}
	for i, v := range h.Versions {
		if v.Version != uint64(i+1) || v.Writer != "gateway" || v.Mode != "0644" || v.Time == "" || !strings.HasPrefix(v.ETag, `"`) {
			t.Fatalf("history version %d: %+v", i+1, v)
		}
	}
	if !h.Versions[0].Inline || h.Versions[2].Inline || h.Versions[2].Size != 10000 {
		t.Fatalf("history: inline flags and sizes: %+v", h.Versions)
	}
	var v versionJSON
	r := do(t, http.MethodPost, "/api/v1/restore/hist/f?version=1", nil).want(t, http.StatusOK)
	r.json(t, &v)
	if v.Version != 4 || v.Size != 3 || v.Path != "/hist/f" || r.Header.Get("ETag") != v.ETag {
		t.Fatalf("restore: %+v", v)
	}
	if r := do(t, http.MethodGet, "/api/v1/files/hist/f", nil).want(t, http.StatusOK); string(r.body) != "one" {
		t.Fatalf("after restore: %q", r.body)
	}
	do(t, http.MethodPost, "/api/v1/restore/hist/f", nil).wantError(t, http.StatusBadRequest, kindInvalid)
	do(t, http.MethodPost, "/api/v1/restore/hist/f?version=9", nil).wantError(t, http.StatusNotFound, kindNotFound)
	do(t, http.MethodPost, "/api/v1/restore/hist/none?version=1", nil).wantError(t, http.StatusNotFound, kindNotFound)
	do(t, http.MethodGet, "/api/v1/history/hist/none", nil).wantError(t, http.StatusNotFound, kindNotFound)
	do(t, http.MethodGet, "/api/v1/restore/hist/f?version=1", nil).wantError(t, http.StatusMethodNotAllowed, kindMethod)
}

// TestErrors: every error status the API has, each with its JSON kind;
// bad paths are refused, never redirected, never a panic.
func TestErrors(t *testing.T) {
	put(t, "/err/file", []byte("x"), http.StatusCreated)
	put(t, "/err/dir/inner", []byte("y"), http.StatusCreated)
	long := strings.Repeat("n", 256)
	for _, tc := range []struct {
		method, target string
		code           int
		kind           string
	}{
		{"GET", "/api/v1/files/err/missing", 404, kindNotFound},
		{"GET", "/api/v1/files/err/file/under", 409, kindNotDir},
		{"PUT", "/api/v1/files/err/dir", 409, kindIsDir},
		{"PUT", "/api/v1/files/", 409, kindIsDir},
		{"PUT", "/api/v1/files/err/file/under", 409, kindNotDir},
		{"DELETE", "/api/v1/files/err/dir", 409, kindNotEmpty},
		{"POST", "/api/v1/mkdir/err/file", 409, kindExist},
		{"GET", "/api/v1/where/err/dir", 409, kindIsDir},
		{"GET", "/api/v1/files/err/a/../file", 400, kindInvalid},
		{"GET", "/api/v1/files/err/%2e%2e/file", 400, kindInvalid},
		{"GET", "/api/v1/files/err/./file", 400, kindInvalid},
		{"GET", "/api/v1/files/err//file", 400, kindInvalid},
		{"PUT", "/api/v1/files/err/nul%00name", 400, kindInvalid},
		{"PUT", "/api/v1/files/err/" + long, 400, kindInvalid},
		{"GET", "/api/v1/stat/err/" + long, 400, kindInvalid},
		{"GET", "/api/v1/stat/" + strings.Repeat("d/", 3000), 400, kindInvalid},
		{"GET", "/api/v1/files/err/file?at=%00", 400, kindInvalid},
		{"DELETE", "/api/v1/files/err/dir?recursive=sometimes", 400, kindInvalid},
		{"DELETE", "/api/v1/files/", 400, kindInvalid},
		{"POST", "/api/v1/files/err/file", 405, kindMethod},
		{"PATCH", "/api/v1/stat/err/file", 405, kindMethod},
		{"PUT", "/api/v1/health", 405, kindMethod},
		{"GET", "/api/v1/nothing", 404, kindNotFound},
		{"GET", "/api/v2/files/err/file", 404, kindNotFound},
	} {
		t.Run(tc.method+" "+tc.target[:min(len(tc.target), 60)], func(t *testing.T) {
			var body *strings.Reader
			if tc.method == "PUT" {
				body = strings.NewReader("data")
			}
			var r reply
			if body != nil {
				r = do(t, tc.method, tc.target, body)
			} else {
				r = do(t, tc.method, tc.target, nil)
			}
			r.wantError(t, tc.code, tc.kind)
			if tc.code == 405 && r.Header.Get("Allow") == "" {
				t.Fatalf("405 without Allow")
			}
		})
	}
	// Nothing refused changed the tree.
	if r := do(t, http.MethodGet, "/api/v1/files/err/file", nil).want(t, http.StatusOK); string(r.body) != "x" {
		t.Fatalf("after the errors: %q", r.body)
	}
}

// TestLocked: a write to a path another holder has leased is 423.
func TestLocked(t *testing.T) {
	put(t, "/lock/f", []byte("mine"), http.StatusCreated)
	bob, err := client.DialOptions(client.Options{User: "bob", TempDir: t.TempDir()}, env.local.MetaAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := bob.Lock(ctx, "/lock/f", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	do(t, http.MethodPut, "/api/v1/files/lock/f", strings.NewReader("yours")).wantError(t, http.StatusLocked, kindLocked)
	if err := bob.Unlock(ctx, l); err != nil {
		t.Fatal(err)
	}
	put(t, "/lock/f", []byte("yours"), http.StatusOK)
}

// TestLimits: a body over MaxUpload is 413 and stores nothing; a cluster
// that does not answer is 503 (health, cluster).
func TestLimits(t *testing.T) {
	gw, err := New(Config{Client: env.c, Registry: prometheus.NewRegistry(), MaxUpload: 1000})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	doOn(t, srv, http.MethodPut, "/api/v1/files/limits/f", strings.NewReader(strings.Repeat("x", 1000))).want(t, http.StatusCreated)
	for _, n := range []int{1001, 3 << 20} {
		doOn(t, srv, http.MethodPut, "/api/v1/files/limits/f", strings.NewReader(strings.Repeat("y", n))).
			wantError(t, http.StatusRequestEntityTooLarge, kindTooLarge)
	}
	var st infoJSON
	do(t, http.MethodGet, "/api/v1/stat/limits/f", nil).want(t, http.StatusOK).json(t, &st)
	if st.Versions != 1 || st.Size != 1000 {
		t.Fatalf("after refused uploads: %+v", st)
	}

	// A gateway over a cluster that is not there.
	dead, err := client.Dial("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	gw, err = New(Config{Client: dead, Registry: prometheus.NewRegistry(), NodeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(gw)
	defer srv.Close()
	var h healthJSON
	doOn(t, srv, http.MethodGet, "/api/v1/health", nil).want(t, http.StatusServiceUnavailable).json(t, &h)
	if h.OK || h.Error == "" || h.Kind != kindUnavailable {
		t.Fatalf("health of a dead cluster: %+v", h)
	}
	doOn(t, srv, http.MethodGet, "/api/v1/cluster", nil).wantError(t, http.StatusServiceUnavailable, kindUnavailable)

	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a client: no error")
	}
}
