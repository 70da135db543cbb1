// Package testenv runs a whole PuddleStore cluster in one process, on
// loopback with real gRPC between the nodes, for end-to-end tests.
package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/node/kvclient"
)

// Cluster is a set of nodes started from one member list.
type Cluster struct {
	t       testing.TB
	Members []node.Member
	Nodes   []*node.Node // nil while a node is stopped
	dirs    []string
	opts    Options
	joined  map[int]bool // started without bootstrap
}

// Options tune a test cluster.
type Options struct {
	// TickInterval of every node; default 10ms, so elections take
	// 100-200ms.
	TickInterval time.Duration
	// SnapshotEntries; default the node's.
	SnapshotEntries uint64
	// Meta: the nodes replicate the file system's metadata (node.Config.Meta)
	// instead of the key-value store.
	Meta bool
}

// FreeAddr finds a free loopback port for a node to bind later. It picks
// from 20000-31999, below Linux's ephemeral range (32768-60999): a port
// the kernel hands out for ":0" or as the source port of an outgoing
// connection (every other test's) cannot then take it between this call
// and the bind. Another FreeAddr could still pick the same port; Start
// retries in that case.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 1000 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err != nil {
			continue // taken
		}
		defer l.Close()
		return l.Addr().String()
	}
	t.Fatal("testenv: no free port in 20000-31999")
	return ""
}

// New starts an n-voter cluster and waits for a leader.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if opts.TickInterval == 0 {
		opts.TickInterval = 10 * time.Millisecond
	}
	c := &Cluster{t: t, opts: opts, Nodes: make([]*node.Node, n), joined: map[int]bool{}}
	base := t.TempDir()
	for i := 1; i <= n; i++ {
		c.Members = append(c.Members, node.Member{ID: uint64(i), PeerAddr: FreeAddr(t), ClientAddr: FreeAddr(t)})
		c.dirs = append(c.dirs, filepath.Join(base, fmt.Sprintf("node%d", i)))
	}
	for i := range n {
		c.Start(i)
	}
	t.Cleanup(c.Close)
	c.WaitLeader()
	return c
}

// Start (re)starts node i (0-based) from its data directory.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		c.Nodes[i], err = node.Start(context.Background(), node.Config{
			ID: c.Members[i].ID, DataDir: c.dirs[i], Members: c.Members, Bootstrap: !c.joined[i],
			TickInterval: c.opts.TickInterval, SnapshotEntries: c.opts.SnapshotEntries, Meta: c.opts.Meta,
		})
		if err == nil {
			return
		}
	}
	c.t.Fatalf("start node %d: %v", i+1, err)
}

// Join starts a new node that is not yet a member and returns its index;
// add it with the Cluster API (kvclient.AddMember) to make it one.
func (c *Cluster) Join() int {
	c.t.Helper()
	i := len(c.Members)
	c.Members = append(c.Members, node.Member{ID: uint64(i + 1), PeerAddr: FreeAddr(c.t), ClientAddr: FreeAddr(c.t)})
	c.dirs = append(c.dirs, filepath.Join(c.t.TempDir(), fmt.Sprintf("node%d", i+1)))
	c.Nodes = append(c.Nodes, nil)
	c.joined[i] = true
	c.Start(i)
	return i
}

// Stop stops node i as a clean shutdown would.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	if c.Nodes[i] == nil {
		return
	}
	if err := c.Nodes[i].Close(); err != nil {
		c.t.Errorf("stop node %d: %v", i+1, err)
	}
	c.Nodes[i] = nil
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.Nodes {
		c.Stop(i)
	}
}

// Leader returns the index of the node that is leader, or -1.
func (c *Cluster) Leader() int {
	for i, n := range c.Nodes {
		if n == nil {
			continue
		}
		if st := n.Raft().Status(); st.Lead == st.ID {
			return i
		}
	}
	return -1
}

// WaitLeader waits (bounded) until some running node leads.
func (c *Cluster) WaitLeader() int {
	c.t.Helper()
	return WaitFor(c.t, 20*time.Second, "a leader", func() (int, bool) {
		l := c.Leader()
		return l, l >= 0
	})
}

// WaitFor polls cond until it holds or the bound passes (then the test
// fails). It waits on a ticker, never on a fixed sleep.
func WaitFor[T any](t testing.TB, bound time.Duration, what string, cond func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, ok := cond(); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", bound, what)
		}
		<-tick.C
	}
}

// ClientAddrs returns the client addresses of all members.
func (c *Cluster) ClientAddrs() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientAddr)
	}
	return out
}

// Client dials the cluster.
func (c *Cluster) Client() *kvclient.Client {
	c.t.Helper()
	cl, err := kvclient.Dial(c.ClientAddrs()...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}
