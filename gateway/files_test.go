package gateway

import (
	"bytes"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// seeded returns n bytes of a seeded generator.
func seeded(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestPutGet: a small (inline) file and a multi-MiB one (chunked) read
// back byte for byte, with their headers; HEAD says the same without a
// body.
func TestPutGet(t *testing.T) {
	small := []byte("puddles are small lakes\n")
	big := seeded(1, 5<<20+12345)
	for _, tc := range []struct {
		path, ctype string
		content     []byte
		inline      bool
	}{
		{"/putget/small.txt", "text/plain; charset=utf-8", small, true},
		{"/putget/deep/er/big.bin", "application/octet-stream", big, false},
	} {
		v := put(t, tc.path, tc.content, http.StatusCreated)
		if v.Version != 1 || v.Size != uint64(len(tc.content)) || v.Inline != tc.inline || v.Path != tc.path ||
			!strings.HasPrefix(v.ETag, `"1-`) || v.Mode != "0644" || v.Writer != "gateway" || v.Time == "" {
			t.Fatalf("PUT %s: %+v", tc.path, v)
		}
		r := do(t, http.MethodGet, "/api/v1/files"+tc.path, nil).want(t, http.StatusOK)
		if !bytes.Equal(r.body, tc.content) {
			t.Fatalf("GET %s: %d bytes, want the %d put", tc.path, len(r.body), len(tc.content))
		}
		h := r.Header
		mt, err := time.Parse(time.RFC3339Nano, v.Time)
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("ETag") != v.ETag || h.Get("X-Puddle-Version") != "1" || h.Get("Accept-Ranges") != "bytes" ||
			h.Get("Content-Type") != tc.ctype || h.Get("Content-Length") != strconv.Itoa(len(tc.content)) ||
			h.Get("Last-Modified") != mt.UTC().Format(http.TimeFormat) || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: headers %v (put %+v)", tc.path, h, v)
		}
		hr := do(t, http.MethodHead, "/api/v1/files"+tc.path, nil).want(t, http.StatusOK)
		if len(hr.body) != 0 || hr.Header.Get("ETag") != v.ETag || hr.Header.Get("Content-Length") != strconv.Itoa(len(tc.content)) {
			t.Fatalf("HEAD %s: %d bytes, headers %v", tc.path, len(hr.body), hr.Header)
		}
	}
	// A second PUT is a new version: 200, not 201.
	v := put(t, "/putget/small.txt", []byte("v2"), http.StatusOK)
	if v.Version != 2 {
		t.Fatalf("second PUT: %+v", v)
	}
	// Without an extension the type is sniffed.
	put(t, "/putget/page", []byte("<html><body>hi</body></html>"), http.StatusCreated)
	r := do(t, http.MethodGet, "/api/v1/files/putget/page", nil).want(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || r.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Fatalf("sniffed: Content-Type %q, CSP %q", ct, r.Header.Get("Content-Security-Policy"))
	}
	// An escaped name.
	put(t, "/putget/a%20b%3F.txt", []byte("spaces"), http.StatusCreated)
	var st infoJSON
	do(t, http.MethodGet, "/api/v1/stat/putget/a%20b%3F.txt", nil).want(t, http.StatusOK).json(t, &st)
	if st.Name != "a b?.txt" || st.Path != "/putget/a b?.txt" {
		t.Fatalf("escaped name: %+v", st)
	}
}

// TestRange: single, suffix, open, multiple and unsatisfiable ranges, on
// an inline file and a chunked one (across a chunk boundary).
func TestRange(t *testing.T) {
	big := seeded(2, 3<<20)
	put(t, "/range/big", big, http.StatusCreated)
	small := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	put(t, "/range/small.txt", small, http.StatusCreated)
	for _, tc := range []struct {
		path      string
		content   []byte
		rng       string
		from, end int // the bytes expected, [from, end)
	}{
		{"/range/small.txt", small, "bytes=10-19", 10, 20},
		{"/range/small.txt", small, "bytes=-5", len(small) - 5, len(small)},
		{"/range/small.txt", small, "bytes=30-", 30, len(small)},
		{"/range/big", big, "bytes=10-19", 10, 20},
		{"/range/big", big, "bytes=1048000-1049999", 1048000, 1050000},
		{"/range/big", big, "bytes=-100000", len(big) - 100000, len(big)},
	} {
		r := do(t, http.MethodGet, "/api/v1/files"+tc.path, nil, "Range", tc.rng).want(t, http.StatusPartialContent)
		if !bytes.Equal(r.body, tc.content[tc.from:tc.end]) {
			t.Fatalf("%s %s: %d bytes, not bytes %d-%d", tc.path, tc.rng, len(r.body), tc.from, tc.end-1)
		}
		if want := "bytes " + strconv.Itoa(tc.from) + "-" + strconv.Itoa(tc.end-1) + "/" + strconv.Itoa(len(tc.content)); r.Header.Get("Content-Range") != want {
			t.Fatalf("%s %s: Content-Range %q, want %q", tc.path, tc.rng, r.Header.Get("Content-Range"), want)
		}
	}
	// Unsatisfiable.
	r := do(t, http.MethodGet, "/api/v1/files/range/small.txt", nil, "Range", "bytes=100-200").want(t, http.StatusRequestedRangeNotSatisfiable)
	if r.Header.Get("Content-Range") != "bytes */"+strconv.Itoa(len(small)) {
		t.Fatalf("416: Content-Range %q", r.Header.Get("Content-Range"))
	}
	// Several ranges: multipart/byteranges.
	r = do(t, http.MethodGet, "/api/v1/files/range/big", nil, "Range", "bytes=0-9,2097152-2097161").want(t, http.StatusPartialContent)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("multi-range: Content-Type %q: %v", r.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for _, off := range []int{0, 2097152} {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(part); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), big[off:off+10]) {
			t.Fatalf("multi-range part at %d: wrong bytes", off)
		}
	}
}

// TestConditionalGet: If-None-Match and If-Modified-Since give 304; a
// stale ETag gives the content.
func TestConditionalGet(t *testing.T) {
	v := put(t, "/cond/a.txt", []byte("cached"), http.StatusCreated)
	r := do(t, http.MethodGet, "/api/v1/files/cond/a.txt", nil, "If-None-Match", v.ETag).want(t, http.StatusNotModified)
	if len(r.body) != 0 || r.Header.Get("ETag") != v.ETag {
		t.Fatalf("304: body %q, ETag %q", r.body, r.Header.Get("ETag"))
	}
	lm := do(t, http.MethodGet, "/api/v1/files/cond/a.txt", nil).want(t, http.StatusOK).Header.Get("Last-Modified")
	do(t, http.MethodGet, "/api/v1/files/cond/a.txt", nil, "If-Modified-Since", lm).want(t, http.StatusNotModified)
	put(t, "/cond/a.txt", []byte("changed"), http.StatusOK)
	r = do(t, http.MethodGet, "/api/v1/files/cond/a.txt", nil, "If-None-Match", v.ETag).want(t, http.StatusOK)
	if string(r.body) != "changed" {
		t.Fatalf("after a change: %q", r.body)
	}
}

// TestPreconditions: If-Match is a compare-and-swap; If-None-Match: *
// creates only; failures are 412 naming the current version, and leave
// the file as it was.
func TestPreconditions(t *testing.T) {
	v1 := put(t, "/cas/f", []byte("one"), http.StatusCreated)
	v2 := put(t, "/cas/f", []byte("two"), http.StatusOK, "If-Match", v1.ETag)
	if v2.Version != 2 {
		t.Fatalf("CAS from v1: %+v", v2)
	}
	// From a stale version: 412, current named.
	r := do(t, http.MethodPut, "/api/v1/files/cas/f", strings.NewReader("three"), "If-Match", v1.ETag)
	e := r.wantError(t, http.StatusPreconditionFailed, kindPrecondition)
	if e.Current == nil || e.Current.Version != 2 || e.Current.ETag != v2.ETag || r.Header.Get("ETag") != v2.ETag {
		t.Fatalf("412: %+v, ETag %q", e, r.Header.Get("ETag"))
	}
	// A big body refused before any is stored.
	do(t, http.MethodPut, "/api/v1/files/cas/f", bytes.NewReader(seeded(3, 1<<20)), "If-Match", v1.ETag).
		wantError(t, http.StatusPreconditionFailed, kindPrecondition)
	// A list of tags, one current; and *.
	v3 := put(t, "/cas/f", []byte("three"), http.StatusOK, "If-Match", v1.ETag+", "+v2.ETag)
	put(t, "/cas/f", []byte("four"), http.StatusOK, "If-Match", "*")
	// If-Match on a file that does not exist.
	e = do(t, http.MethodPut, "/api/v1/files/cas/none", strings.NewReader("x"), "If-Match", v1.ETag).
		wantError(t, http.StatusPreconditionFailed, kindPrecondition)
	if e.Current != nil {
		t.Fatalf("412 on a missing file names a current version: %+v", e)
	}
	// If-None-Match: * creates only.
	put(t, "/cas/new", []byte("fresh"), http.StatusCreated, "If-None-Match", "*")
	e = do(t, http.MethodPut, "/api/v1/files/cas/new", strings.NewReader("again"), "If-None-Match", "*").
		wantError(t, http.StatusPreconditionFailed, kindPrecondition)
	if e.Current == nil || e.Current.Version != 1 {
		t.Fatalf("If-None-Match * on an existing file: %+v", e)
	}
	// If-None-Match: <etag>: refused when current.
	v5 := put(t, "/cas/f", []byte("five"), http.StatusOK, "If-None-Match", `"4-`+v3.ETag[3:]) // not v4's tag
	do(t, http.MethodPut, "/api/v1/files/cas/f", strings.NewReader("six"), "If-None-Match", v5.ETag).
		wantError(t, http.StatusPreconditionFailed, kindPrecondition)
	// Nothing refused was stored.
	if r := do(t, http.MethodGet, "/api/v1/files/cas/new", nil).want(t, http.StatusOK); string(r.body) != "fresh" {
		t.Fatalf("after refused writes: %q", r.body)
	}
	var h historyJSON
	do(t, http.MethodGet, "/api/v1/history/cas/f", nil).want(t, http.StatusOK).json(t, &h)
	if len(h.Versions) != 5 {
		t.Fatalf("history after refused writes: %+v", h)
	}
}

// TestVersionsAndAt: ?version=N and ?at=T read the past, for files and
// listings.
func TestVersionsAndAt(t *testing.T) {
	v1 := put(t, "/ver/f.txt", []byte("first"), http.StatusCreated)
	v2 := put(t, "/ver/f.txt", []byte("second"), http.StatusOK)
	get := func(q string) reply {
		return do(t, http.MethodGet, "/api/v1/files/ver/f.txt?"+q, nil)
	}
	if r := get("version=1").want(t, http.StatusOK); string(r.body) != "first" || r.Header.Get("X-Puddle-Version") != "1" || r.Header.Get("ETag") != v1.ETag {
		t.Fatalf("version=1: %q %v", r.body, r.Header)
	}
	if r := get("version=2").want(t, http.StatusOK); string(r.body) != "second" {
		t.Fatalf("version=2: %q", r.body)
	}
	get("version=3").wantError(t, http.StatusNotFound, kindNotFound)
	get("version=0").wantError(t, http.StatusBadRequest, kindInvalid)
	get("version=x").wantError(t, http.StatusBadRequest, kindInvalid)

	t1, _ := time.Parse(time.RFC3339Nano, v1.Time)
	t2, _ := time.Parse(time.RFC3339Nano, v2.Time)
	if !t2.After(t1) {
		t.Fatalf("version times %s, %s", v1.Time, v2.Time)
	}
	mid := t1.Add(t2.Sub(t1) / 2)
	if r := get("at="+url.QueryEscape(mid.Format(time.RFC3339Nano))).want(t, http.StatusOK); string(r.body) != "first" {
		t.Fatalf("at the middle: %q", r.body)
	}
	// Unix seconds and durations ago.
	if r := get("at="+strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)).want(t, http.StatusOK); string(r.body) != "second" {
		t.Fatalf("at an hour ahead: %q", r.body)
	}
	get("at=1h").wantError(t, http.StatusNotFound, kindNotFound) // it did not exist an hour ago
	get("at=yesterday").wantError(t, http.StatusBadRequest, kindInvalid)

	// A listing as of the middle shows the file at version 1.
	var l listingJSON
	do(t, http.MethodGet, "/api/v1/files/ver/?at="+url.QueryEscape(mid.Format(time.RFC3339Nano)), nil).want(t, http.StatusOK).json(t, &l)
	if len(l.Entries) != 1 || l.Entries[0].Version != 1 || l.Entries[0].Size != 5 {
		t.Fatalf("listing as of the middle: %+v", l)
	}
	// Stat and history as of the middle.
	var st infoJSON
	do(t, http.MethodGet, "/api/v1/stat/ver/f.txt?at="+url.QueryEscape(mid.Format(time.RFC3339Nano)), nil).want(t, http.StatusOK).json(t, &st)
	if st.Version != 1 || st.ETag != v1.ETag {
		t.Fatalf("stat as of the middle: %+v", st)
	}
	var h historyJSON
	do(t, http.MethodGet, "/api/v1/history/ver/f.txt?at="+url.QueryEscape(mid.Format(time.RFC3339Nano)), nil).want(t, http.StatusOK).json(t, &h)
	if len(h.Versions) != 1 {
		t.Fatalf("history as of the middle: %+v", h)
	}
}

// TestListing: a directory's GET is its sorted JSON listing, with or
// without a trailing slash; the root lists too.
func TestListing(t *testing.T) {
	put(t, "/list/b.txt", []byte("bb"), http.StatusCreated)
	put(t, "/list/a.txt", []byte("a"), http.StatusCreated)
	put(t, "/list/a.txt", []byte("aaa"), http.StatusOK)
	do(t, http.MethodPost, "/api/v1/mkdir/list/sub", nil).want(t, http.StatusCreated)
	for _, p := range []string{"/api/v1/files/list", "/api/v1/files/list/"} {
		var l listingJSON
		do(t, http.MethodGet, p, nil).want(t, http.StatusOK).json(t, &l)
		if l.Path != "/list" || !l.Dir || len(l.Entries) != 3 {
			t.Fatalf("GET %s: %+v", p, l)
		}
		a, b, sub := l.Entries[0], l.Entries[1], l.Entries[2]
		if a.Name != "a.txt" || a.Path != "/list/a.txt" || a.Dir || a.Size != 3 || a.Version != 2 || a.Versions != 2 ||
			a.Mode != "0644" || a.Writer != "gateway" || a.MTime == "" {
			t.Fatalf("entry a.txt: %+v", a)
		}
		if _, err := time.Parse(time.RFC3339Nano, a.MTime); err != nil {
			t.Fatalf("entry a.txt mtime: %v", err)
		}
		if b.Name != "b.txt" || b.Size != 2 || sub.Name != "sub" || !sub.Dir || sub.Path != "/list/sub" || sub.Mode != "0755" {
			t.Fatalf("entries: %+v", l.Entries)
		}
	}
	var root listingJSON
	do(t, http.MethodGet, "/api/v1/files/", nil).want(t, http.StatusOK).json(t, &root)
	found := false
	for _, e := range root.Entries {
		found = found || e.Name == "list" && e.Dir && e.Path == "/list"
	}
	if root.Path != "/" || !found {
		t.Fatalf("root listing: %+v", root)
	}
	// HEAD of a directory: no body.
	if r := do(t, http.MethodHead, "/api/v1/files/list", nil).want(t, http.StatusOK); len(r.body) != 0 {
		t.Fatalf("HEAD of a directory: %q", r.body)
	}
	do(t, http.MethodGet, "/api/v1/files/list?version=1", nil).wantError(t, http.StatusConflict, kindIsDir)
}

// TestConcurrentCAS: of writers racing from the same ETag, exactly one
// wins; the others get 412, whether the precondition or the commit's
// compare-and-swap refused them.
func TestConcurrentCAS(t *testing.T) {
	v := put(t, "/race/f", []byte("base"), http.StatusCreated)
	const writers = 8
	codes := make(chan int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPut, env.srv.URL+"/api/v1/files/race/f", bytes.NewReader(seeded(uint64(10+i), 64<<10)))
			if err != nil {
				codes <- -1
				return
			}
			req.Header.Set("If-Match", v.ETag)
			resp, err := env.srv.Client().Do(req)
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	won := 0
	for c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Fatalf("a racing writer got %d", c)
		}
	}
	var st infoJSON
	do(t, http.MethodGet, "/api/v1/stat/race/f", nil).want(t, http.StatusOK).json(t, &st)
	if won != 1 || st.Versions != 2 {
		t.Fatalf("%d writers won, %d versions; want 1 and 2", won, st.Versions)
	}
}
