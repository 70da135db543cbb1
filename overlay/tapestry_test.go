package overlay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/memnet"
)

// fast are core knobs for tests: 10ms ticks, heartbeats every 50ms, a
// neighbour silent for 300ms is dead.
func fast(c *TapestryConfig) {
	c.Tick = 10 * time.Millisecond
	c.HeartbeatTicks, c.FailureTicks = 5, 30
}

type memMesh struct {
	t     *testing.T
	net   *memnet.Network
	nodes []*Tapestry
}

// newMemMesh starts n nodes on a real-time memnet, joining one by one
// through the first.
func newMemMesh(t *testing.T, n int) *memMesh {
	t.Helper()
	net, err := memnet.New(memnet.Config{Seed: 1, MinDelay: 200 * time.Microsecond, MaxDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Start(); err != nil {
		t.Fatal(err)
	}
	m := &memMesh{t: t, net: net}
	t.Cleanup(func() {
		for _, x := range m.nodes {
			x.Close()
		}
		net.Stop()
	})
	for i := range n {
		m.add(i)
	}
	return m
}

func (m *memMesh) add(i int) *Tapestry {
	m.t.Helper()
	mux := transport.NewMux()
	ep, err := m.net.Endpoint(transport.Addr(fmt.Sprintf("n%d", i)), mux.Deliver)
	if err != nil {
		m.t.Fatal(err)
	}
	cfg := TapestryConfig{Transport: ep, Mux: mux, Seed: uint64(i + 1), ID: id.Hash(fmt.Appendf(nil, "node %d", i))}
	fast(&cfg)
	if len(m.nodes) > 0 {
		cfg.Join = m.nodes[0].Self().Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	x, err := StartTapestry(ctx, cfg)
	if err != nil {
		m.t.Fatalf("node %d: %v", i, err)
	}
	m.nodes = append(m.nodes, x)
	return x
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestMemnetMeshResponsiblePublishLocate(t *testing.T) {
	m := newMemMesh(t, 6)
	ctx := ctxT(t, 20*time.Second)
	for _, x := range m.nodes {
		if st := x.Status(); st.State != "joined" || st.Neighbours == 0 {
			t.Fatalf("%s: status %+v", x.Self().ID.Short(6), st)
		}
	}

	// Every node names the same responsible nodes for a key.
	for k := range 8 {
		key := id.Hash(fmt.Appendf(nil, "key %d", k))
		want, err := m.nodes[0].Responsible(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || len(want) > DefaultSalts {
			t.Fatalf("key %d: %d responsible nodes", k, len(want))
		}
		for _, x := range m.nodes[1:] {
			got, err := x.Responsible(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("key %d: node %s says %v, node %s says %v", k, x.Self().ID.Short(6), got,
					m.nodes[0].Self().ID.Short(6), want)
			}
		}
	}

	// Objects published by different nodes are found from every node.
	holder := map[id.ID]Peer{}
	for k := range 12 {
		key := id.Hash(fmt.Appendf(nil, "object %d", k))
		x := m.nodes[k%len(m.nodes)]
		if err := x.Publish(ctx, key); err != nil {
			t.Fatalf("publish %d from %s: %v", k, x.Self().ID.Short(6), err)
		}
		holder[key] = x.Self()
	}
	for key, h := range holder {
		for _, x := range m.nodes {
			got, err := x.Locate(ctx, key)
			if err != nil {
				t.Fatalf("locate %s from %s: %v", key.Short(6), x.Self().ID.Short(6), err)
			}
			if len(got) == 0 || got[0] != h {
				t.Fatalf("locate %s from %s: %v, want %v", key.Short(6), x.Self().ID.Short(6), got, h)
			}
			// Leaving out the only holder: not found.
			if _, err := x.Locate(ctx, key, h.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("locate %s excluding its holder: %v, want ErrNotFound", key.Short(6), err)
			}
		}
	}

	// Unpublished and never published keys are not found.
	for key, h := range holder {
		for _, x := range m.nodes {
			if x.Self() == h {
				if err := x.Unpublish(ctx, key); err != nil {
					t.Fatal(err)
				}
			}
		}
		break
	}
	if _, err := m.nodes[3].Locate(ctx, id.Hash([]byte("never published"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("locate of an unknown key: %v, want ErrNotFound", err)
	}

	// Routes end at the first responsible node.
	key := id.Hash([]byte("route me"))
	roots, err := m.nodes[2].Responsible(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range m.nodes {
		path, err := x.Route(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if path[0] != x.Self() || path[len(path)-1] != roots[0] {
			t.Fatalf("route from %s: %v; root %v", x.Self().ID.Short(6), path, roots[0])
		}
	}

	// The table copy lists neighbours with measured RTTs.
	tb := m.nodes[0].Table()
	if tb.Self != m.nodes[0].Self() || len(tb.Slots) == 0 {
		t.Fatalf("table %+v", tb)
	}
	measured := 0
	for _, s := range tb.Slots {
		for _, n := range s.Neighbours {
			if id.SharedPrefixLen(n.ID, tb.Self.ID) != s.Level || n.ID.Digit(s.Level) != s.Digit {
				t.Fatalf("neighbour %s in slot %d/%x", n.ID.Short(6), s.Level, s.Digit)
			}
			if n.RTT > 0 {
				measured++
			}
		}
	}
	if measured == 0 {
		t.Fatalf("no RTT measured in %+v", tb)
	}
	// Neighbours lists the same nodes as the table, each once.
	ns, err := m.nodes[0].Neighbours(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inTable []Peer
	for _, s := range tb.Slots {
		for _, n := range s.Neighbours {
			inTable = append(inTable, n.Peer)
		}
	}
	if len(ns) != len(inTable) {
		t.Fatalf("neighbours %v, table %v", ns, inTable)
	}
	for _, p := range inTable {
		if !slices.Contains(ns, p) {
			t.Fatalf("neighbours %v lack %v", ns, p)
		}
	}
}

// TestMalformedDropped: garbage and messages for another node reach the
// driver and are dropped; the node goes on working.
func TestMalformedDropped(t *testing.T) {
	m := newMemMesh(t, 3)
	ctx := ctxT(t, 10*time.Second)
	bad, err := m.net.Endpoint("attacker", func(transport.Addr, transport.Service, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	target := m.nodes[1]
	wrong := tapestry.Message{Type: tapestry.MsgPing, From: tapestry.Entry{ID: id.Hash([]byte("x")), Addr: "attacker"},
		To: id.Hash([]byte("someone else")), Seq: 1}
	payloads := [][]byte{nil, {0}, {1, 2, 3}, {1, 99, 0}, make([]byte, 300), wrong.Marshal()}
	good := wrong.Marshal()
	payloads = append(payloads, good[:len(good)-1], append(good, 7))
	for _, p := range payloads {
		if err := bad.Send(target.Self().Addr, transport.ServiceTapestry, p); err != nil {
			t.Fatal(err)
		}
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for target.Status().Dropped < uint64(len(payloads)-1) { // the one for another node is dropped by the core
		select {
		case <-ctx.Done():
			t.Fatalf("dropped %d of %d", target.Status().Dropped, len(payloads)-1)
		case <-tick.C:
		}
	}
	key := id.Hash([]byte("after garbage"))
	if err := target.Publish(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got, err := m.nodes[2].Locate(ctx, key); err != nil || got[0] != target.Self() {
		t.Fatalf("locate after garbage: %v, %v", got, err)
	}
}

// TestCloseAndContext: calls respect ctx, and fail with ErrClosed after
// Close; the others route around a node that left.
func TestCloseAndContext(t *testing.T) {
	m := newMemMesh(t, 4)
	ctx := ctxT(t, 10*time.Second)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.nodes[0].Locate(done, id.Hash([]byte("k"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("locate with a cancelled ctx: %v", err)
	}
	expired, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	if err := m.nodes[0].Publish(expired, id.Hash([]byte("k"))); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish with an expired ctx: %v", err)
	}

	key := id.Hash([]byte("kept"))
	if err := m.nodes[1].Publish(ctx, key); err != nil {
		t.Fatal(err)
	}
	leaver := m.nodes[3]
	leaver.Close()
	if _, err := leaver.Locate(ctx, key); !errors.Is(err, ErrClosed) {
		t.Fatalf("locate after close: %v", err)
	}
	if st := leaver.Status(); st.State != "left" {
		t.Fatalf("status after close: %+v", st)
	}
	// The leave messages are in flight: wait until every table has
	// dropped the node.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for _, x := range m.nodes[:3] {
		for inTable(x.Table(), leaver.Self()) {
			select {
			case <-ctx.Done():
				t.Fatalf("%s still holds %s: %+v", x.Self().ID.Short(6), leaver.Self().ID.Short(6), x.Table())
			case <-tick.C:
			}
		}
	}
	for _, x := range m.nodes[:3] {
		got, err := x.Locate(ctx, key)
		if err != nil || got[0] != m.nodes[1].Self() {
			t.Fatalf("locate from %s after a leave: %v, %v", x.Self().ID.Short(6), got, err)
		}
		path, err := x.Route(ctx, leaver.Self().ID)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(path, leaver.Self()) {
			t.Fatalf("route through a node that left: %v", path)
		}
	}
}

func inTable(tb RoutingTable, p Peer) bool {
	for _, s := range tb.Slots {
		for _, n := range s.Neighbours {
			if n.Peer == p {
				return true
			}
		}
	}
	return false
}

func TestConfigErrors(t *testing.T) {
	ctx := ctxT(t, 5*time.Second)
	if _, err := StartTapestry(ctx, TapestryConfig{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no listen, no transport: %v", err)
	}
	net, _ := memnet.New(memnet.Config{})
	ep, _ := net.Endpoint("a", func(transport.Addr, transport.Service, []byte) {})
	if _, err := StartTapestry(ctx, TapestryConfig{Transport: ep}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("transport without mux: %v", err)
	}
	mux := transport.NewMux()
	if _, err := StartTapestry(ctx, TapestryConfig{Transport: ep, Mux: mux, Join: "a"}); err == nil {
		t.Fatal("joining through itself succeeded")
	}
	// Joining through nobody: bounded by ctx.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	ep2, _ := net.Endpoint("b", mux.Deliver)
	if _, err := StartTapestry(short, TapestryConfig{Transport: ep2, Mux: mux, Join: "nobody", Tick: 10 * time.Millisecond}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("join through nobody: %v", err)
	}
}
