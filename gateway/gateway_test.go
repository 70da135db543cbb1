package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

// env is the whole cluster every test of the package shares: 3 metadata
// nodes, 4 storage nodes (R=3) on Tapestry, real gRPC on loopback, and a
// gateway over a client of it. Each test works under its own directory.
var env struct {
	local *node.Local
	c     *client.Client
	gw    *Gateway
	reg   *prometheus.Registry
	srv   *httptest.Server
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gateway-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env.local, err = node.StartLocal(ctx, node.LocalConfig{
		Dir: dir, StorageNodes: 4, TickInterval: 10 * time.Millisecond,
		Overlay: overlay.Options{}.WithTick(20 * time.Millisecond),
		Blocks:  blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start cluster:", err)
		return 1
	}
	defer env.local.Close()
	env.c, err = client.DialOptions(client.Options{User: "gateway", TempDir: dir}, env.local.MetaAddrs()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.c.Close()
	env.reg = prometheus.NewRegistry()
	env.gw, err = New(Config{Client: env.c, Registry: env.reg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.srv = httptest.NewServer(env.gw)
	defer env.srv.Close()
	return m.Run()
}

// reply is a response read whole.
type reply struct {
	*http.Response
	body []byte
}

// do sends a request to the shared gateway; headers are name, value
// pairs.
func do(t *testing.T, method, target string, body io.Reader, headers ...string) reply {
	t.Helper()
	return doOn(t, env.srv, method, target, body, headers...)
}

func doOn(t *testing.T, srv *httptest.Server, method, target string, body io.Reader, headers ...string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return reply{resp, b}
}

// want checks the status code.
func (r reply) want(t *testing.T, code int) reply {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, code, r.body)
	}
	return r
}

// json decodes the body into v.
func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, want JSON; body %s", r.Request.Method, r.Request.URL.Path, ct, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", r.Request.Method, r.Request.URL.Path, r.body, err)
	}
}

// wantError checks an error reply: its status and its JSON kind.
func (r reply) wantError(t *testing.T, code int, kind string) errorBody {
	t.Helper()
	r.want(t, code)
	var e errorBody
	r.json(t, &e)
	if e.Kind != kind || e.Error == "" {
		t.Fatalf("%s %s: error %+v, want kind %q and a message", r.Request.Method, r.Request.URL.Path, e, kind)
	}
	return e
}

// put stores content at p through the gateway and returns the version.
func put(t *testing.T, p string, content []byte, code int, headers ...string) versionJSON {
	t.Helper()
	var v versionJSON
	do(t, http.MethodPut, "/api/v1/files"+p, bytes.NewReader(content), headers...).want(t, code).json(t, &v)
	return v
}

func TestSmoke(t *testing.T) {
	v := put(t, "/smoke/a.txt", []byte("hello"), http.StatusCreated)
	if v.Version != 1 || v.Size != 5 || v.Path != "/smoke/a.txt" {
		t.Fatalf("put: %+v", v)
	}
	r := do(t, http.MethodGet, "/api/v1/files/smoke/a.txt", nil).want(t, http.StatusOK)
	if string(r.body) != "hello" {
		t.Fatalf("get: %q", r.body)
	}
}
