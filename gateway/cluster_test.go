package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

func isHexID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// TestCluster: three metadata nodes (one leader) and four storage nodes,
// every one answering.
func TestCluster(t *testing.T) {
	var c clusterJSON
	do(t, http.MethodGet, "/api/v1/cluster", nil).want(t, http.StatusOK).json(t, &c)
	if len(c.Meta) != 3 || len(c.Storage) != 4 || !c.Registry {
		t.Fatalf("cluster: %d metadata and %d storage nodes (registry %v), want 3 and 4", len(c.Meta), len(c.Storage), c.Registry)
	}
	leaders := 0
	for _, m := range c.Meta {
		if m.Error != "" || m.Addr == "" || m.ID == 0 || m.Term == 0 || m.Commit == 0 || m.Leader == 0 {
			t.Fatalf("metadata node: %+v", m)
		}
		if m.Role == "leader" {
			leaders++
		}
	}
	if leaders < 1 {
		t.Fatalf("no leader among %+v", c.Meta)
	}
	for _, s := range c.Storage {
		if s.Error != "" || !isHexID(s.ID) || s.Overlay != "tapestry" || s.Replicas != 3 {
			t.Fatalf("storage node: %+v", s)
		}
	}
}

// TestHealth: 200 while the metadata service answers.
func TestHealth(t *testing.T) {
	var h healthJSON
	do(t, http.MethodGet, "/api/v1/health", nil).want(t, http.StatusOK).json(t, &h)
	if !h.OK || h.Error != "" {
		t.Fatalf("health: %+v", h)
	}
}

// TestOverlay: one entry per storage node, each with its routing table
// and the other nodes among its neighbours (polled: the tables fill as
// the overlay's maintenance runs).
func TestOverlay(t *testing.T) {
	var o overlayJSON
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		o = overlayJSON{}
		do(t, http.MethodGet, "/api/v1/overlay", nil).want(t, http.StatusOK).json(t, &o)
		full := len(o.Nodes) == 4
		for _, n := range o.Nodes {
			full = full && n.Error == "" && len(n.Neighbours) == 3
		}
		if full || time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	if o.Kind != "tapestry" || len(o.Nodes) != 4 {
		t.Fatalf("overlay: kind %q, %d nodes", o.Kind, len(o.Nodes))
	}
	addrs := map[string]bool{}
	for _, n := range o.Nodes {
		addrs[n.Addr] = true
	}
	for _, n := range o.Nodes {
		if n.Error != "" || !isHexID(n.ID) || n.Kind != "tapestry" || n.State != "joined" || n.Ring != nil || len(n.Table) == 0 {
			t.Fatalf("overlay node: %+v", n)
		}
		if len(n.Neighbours) != 3 {
			t.Fatalf("node %s: neighbours %+v, want the 3 others", n.Addr, n.Neighbours)
		}
		for _, nb := range n.Neighbours {
			if !addrs[nb.Addr] || nb.Addr == n.Addr || !isHexID(nb.ID) || nb.RTTMillis < 0 {
				t.Fatalf("node %s: neighbour %+v", n.Addr, nb)
			}
		}
		for _, s := range n.Table {
			if len(s.Entries) == 0 || s.Digit < 0 || s.Digit > 15 || s.Level < 0 {
				t.Fatalf("node %s: table slot %+v", n.Addr, s)
			}
		}
	}
}

// TestWhere: a chunked file's blocks, each on its 3 holders, and the
// overlay route to the first; an inline file has none.
func TestWhere(t *testing.T) {
	big := seeded(4, 3<<20+7)
	put(t, "/where/big", big, http.StatusCreated)
	put(t, "/where/big", seeded(5, 2<<20), http.StatusOK)
	var wj whereJSON
	do(t, http.MethodGet, "/api/v1/where/where/big?version=1", nil).want(t, http.StatusOK).json(t, &wj)
	if wj.Path != "/where/big" || wj.Version != 1 || wj.Size != uint64(len(big)) || wj.Inline || wj.Truncated || wj.From == "" {
		t.Fatalf("where: %+v", wj)
	}
	if len(wj.Blocks) < 3 || wj.Blocks[0].Kind != "manifest" {
		t.Fatalf("where: blocks %+v, want a manifest and chunks", wj.Blocks)
	}
	var chunked int64
	for _, b := range wj.Blocks {
		if len(b.Ref) != 64 || b.Size <= 0 || b.Error != "" {
			t.Fatalf("block %+v", b)
		}
		if b.Kind == "chunk" {
			chunked += b.Size
		}
		holders := 0
		for _, h := range b.Placement {
			if h.Holds && h.Error == "" && isHexID(h.ID) && h.Addr != "" {
				holders++
			}
		}
		if len(b.Placement) != 3 || holders != 3 {
			t.Fatalf("block %s: placement %+v, want 3 holders", b.Ref, b.Placement)
		}
		if len(b.Located) == 0 {
			t.Fatalf("block %s: the overlay locates no holder", b.Ref)
		}
	}
	if chunked != int64(len(big)) {
		t.Fatalf("chunks cover %d bytes, the file has %d", chunked, len(big))
	}
	rt := wj.Route
	if rt == nil || rt.Error != "" || rt.From != wj.From || rt.Key != wj.Blocks[0].Ref[:40] || len(rt.Hops) == 0 || rt.Hops[0].Addr != wj.From {
		t.Fatalf("route: %+v (from %s, first block %s)", rt, wj.From, wj.Blocks[0].Ref)
	}
	// The current version is another one.
	var cur whereJSON
	do(t, http.MethodGet, "/api/v1/where/where/big", nil).want(t, http.StatusOK).json(t, &cur)
	if cur.Version != 2 || cur.Blocks[0].Ref == wj.Blocks[0].Ref {
		t.Fatalf("where, current: version %d, root %s", cur.Version, cur.Blocks[0].Ref)
	}

	put(t, "/where/small", []byte("tiny"), http.StatusCreated)
	var in whereJSON
	do(t, http.MethodGet, "/api/v1/where/where/small", nil).want(t, http.StatusOK).json(t, &in)
	if !in.Inline || len(in.Blocks) != 0 || in.Route != nil || in.Version != 1 || in.Size != 4 {
		t.Fatalf("where, inline: %+v", in)
	}
	do(t, http.MethodGet, "/api/v1/where/where/big?version=5", nil).wantError(t, http.StatusNotFound, kindNotFound)
	do(t, http.MethodGet, "/api/v1/where/where/none", nil).wantError(t, http.StatusNotFound, kindNotFound)
}

// TestUI: everything outside /api/ is the web UI.
func TestUI(t *testing.T) {
	r := do(t, http.MethodGet, "/", nil).want(t, http.StatusOK)
	if !strings.Contains(r.Header.Get("Content-Type"), "text/html") || len(r.body) == 0 {
		t.Fatalf("UI: %q, %d bytes", r.Header.Get("Content-Type"), len(r.body))
	}
}

// TestMetrics: requests are counted by route name, method and code, and
// timed; no label holds a path.
func TestMetrics(t *testing.T) {
	count := func(route, method, code string) float64 {
		return testutil.ToFloat64(env.gw.metrics.requests.WithLabelValues(route, method, code))
	}
	get0, miss0, put0 := count("files", "GET", "200"), count("stat", "GET", "404"), count("files", "PUT", "201")
	put(t, "/metrics/f", []byte("m"), http.StatusCreated)
	for range 3 {
		do(t, http.MethodGet, "/api/v1/files/metrics/f", nil).want(t, http.StatusOK)
	}
	do(t, http.MethodGet, "/api/v1/stat/metrics/none", nil).want(t, http.StatusNotFound)
	if d := count("files", "GET", "200") - get0; d < 3 {
		t.Fatalf("files GET 200 rose by %v, want 3 or more", d)
	}
	if count("stat", "GET", "404")-miss0 < 1 || count("files", "PUT", "201")-put0 < 1 {
		t.Fatalf("stat 404 or files PUT 201 not counted")
	}
	mfs, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	known := map[string]bool{"files": true, "mkdir": true, "rename": true, "stat": true, "history": true, "restore": true,
		"cluster": true, "overlay": true, "where": true, "health": true, "ui": true, "unknown": true, "invalid": true}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && !known[l.GetValue()] {
					t.Fatalf("%s: route label %q", mf.GetName(), l.GetValue())
				}
			}
			if h := m.GetHistogram(); h != nil && h.GetSampleCount() == 0 {
				t.Fatalf("%s: an empty histogram series", mf.GetName())
			}
		}
	}
	if !names["puddle_gateway_requests_total"] || !names["puddle_gateway_request_seconds"] {
		t.Fatalf("gathered %v", names)
	}
	// A second gateway on the same registry shares the collectors.
	if _, err := New(Config{Client: env.c, Registry: env.reg}); err != nil {
		t.Fatalf("a second gateway on the registry: %v", err)
	}
}

// TestParseAt: the forms of ?at=.
func TestParseAt(t *testing.T) {
	now := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"5m", now.Add(-5 * time.Minute), true},
		{"-2h30m", now.Add(-150 * time.Minute), true},
		{"0", now, true},
		{"2026-11-23T17:00:00Z", now.Add(-time.Hour), true},
		{"2026-11-23T19:00:00.5+02:00", now.Add(-time.Hour + 500*time.Millisecond), true},
		{"1795000000", time.Unix(1795000000, 0), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"99999999999999", time.Time{}, false},
		{"2026-11-23", time.Time{}, false},
	} {
		got, err := parseAt(tc.in, now)
		if (err == nil) != tc.ok || tc.ok && !got.Equal(tc.want) {
			t.Errorf("parseAt(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && meta.KindOf(err) != meta.KindInvalid {
			t.Errorf("parseAt(%q): error %v is not Invalid", tc.in, err)
		}
	}
}

// TestStatusOf: every error kind's status, as the CLI's exit codes.
func TestStatusOf(t *testing.T) {
	me := func(k meta.Kind) error { return fmt.Errorf("wrapped: %w", &meta.Error{Kind: k, Path: "/x"}) }
	for _, tc := range []struct {
		err  error
		code int
		kind string
	}{
		{me(meta.KindNotExist), 404, kindNotFound},
		{me(meta.KindExist), 409, kindExist},
		{me(meta.KindInvalid), 400, kindInvalid},
		{me(meta.KindNotDir), 409, kindNotDir},
		{me(meta.KindIsDir), 409, kindIsDir},
		{me(meta.KindNotEmpty), 409, kindNotEmpty},
		{me(meta.KindConflict), 409, kindConflict},
		{me(meta.KindLocked), 423, kindLocked},
		{fmt.Errorf("x: %w", client.ErrUnavailable), 503, kindUnavailable},
		{context.DeadlineExceeded, 503, kindUnavailable},
		{fmt.Errorf("x: %w", &http.MaxBytesError{Limit: 1}), 413, kindTooLarge},
		{errors.New("something else"), 500, kindInternal},
	} {
		code, kind := statusOf(tc.err)
		if code != tc.code || kind != tc.kind {
			t.Errorf("statusOf(%v) = %d %s, want %d %s", tc.err, code, kind, tc.code, tc.kind)
		}
	}
}

// TestCleanPaths: what ServeHTTP refuses before the mux can redirect.
func TestCleanPaths(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/api/v1/files/", true},
		{"/api/v1/files/a/b", true},
		{"/api/v1/files/a/b/", true},
		{"/api/v1/files/a//b", false},
		{"/api/v1/files//", false},
		{"/api/v1/files/a/./b", false},
		{"/api/v1/files/a/..", false},
		{"/api/v1/files/..a/b.", true},
	} {
		if got := uncleanPath(tc.path) == ""; got != tc.ok {
			t.Errorf("uncleanPath(%q) clean = %v, want %v", tc.path, got, tc.ok)
		}
	}
}

// TestChord: on a Chord cluster of its own, the overlay route reports
// each node's ring (predecessor, successors, fingers), and where routes
// to a block's key.
func TestChord(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := node.StartLocal(ctx, node.LocalConfig{
		Dir: t.TempDir(), StorageNodes: 4, TickInterval: 10 * time.Millisecond,
		Overlay: overlay.Options{Kind: "chord"}.WithTick(20 * time.Millisecond),
		Blocks:  blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := client.DialOptions(client.Options{User: "gateway", TempDir: t.TempDir()}, l.MetaAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gw, err := New(Config{Client: c, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	var o overlayJSON
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		o = overlayJSON{}
		doOn(t, srv, http.MethodGet, "/api/v1/overlay", nil).want(t, http.StatusOK).json(t, &o)
		full := len(o.Nodes) == 4
		for _, n := range o.Nodes {
			full = full && n.Error == "" && n.Ring != nil && n.Ring.Predecessor != nil && len(n.Ring.Successors) > 0 && len(n.Neighbours) == 3
		}
		if full || time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	if o.Kind != "chord" || len(o.Nodes) != 4 {
		t.Fatalf("overlay: kind %q, %d nodes", o.Kind, len(o.Nodes))
	}
	for _, n := range o.Nodes {
		if n.Error != "" || n.Kind != "chord" || n.Table != nil || n.Ring == nil || !n.Ring.Joined ||
			n.Ring.Predecessor == nil || len(n.Ring.Successors) == 0 || len(n.Ring.Fingers) == 0 || len(n.Neighbours) != 3 {
			t.Fatalf("chord node: %+v", n)
		}
		for _, f := range n.Ring.Fingers {
			if f.Index < 0 || f.Index >= 160 || !isHexID(f.ID) {
				t.Fatalf("node %s: finger %+v", n.Addr, f)
			}
		}
	}

	doOn(t, srv, http.MethodPut, "/api/v1/files/chord/big", bytes.NewReader(seeded(6, 2<<20))).want(t, http.StatusCreated)
	var wj whereJSON
	doOn(t, srv, http.MethodGet, "/api/v1/where/chord/big", nil).want(t, http.StatusOK).json(t, &wj)
	if len(wj.Blocks) < 2 || wj.Route == nil || wj.Route.Error != "" || len(wj.Route.Hops) == 0 {
		t.Fatalf("where on chord: %+v", wj)
	}
	for _, b := range wj.Blocks {
		if len(b.Placement) != 3 || b.Error != "" {
			t.Fatalf("where on chord: block %+v", b)
		}
	}
}
