package node_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

func startServer(t *testing.T, dir, listen, join string, isMeta bool) *node.Server {
	t.Helper()
	s, err := node.StartServer(ctx(t), node.ServerConfig{
		Dir: dir, Listen: listen, Join: join, Bootstrap: join == "", Meta: isMeta,
		TickInterval: 10 * time.Millisecond,
		Overlay:      overlay.Options{}.WithTick(20 * time.Millisecond),
		Blocks:       blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServers: five node processes' worth of Servers, each on one port:
// three metadata voters (one bootstraps, two join) and two storage-only
// nodes. A client dialed at any one voter writes and reads files; the
// registry lists all five; the Raft leader is stopped and the cluster
// goes on; it restarts from its data and rejoins.
func TestServers(t *testing.T) {
	root := t.TempDir()
	addrs := make([]string, 5)
	for i := range addrs {
		addrs[i] = testenv.FreeAddr(t)
	}
	servers := make([]*node.Server, 5)
	defer func() {
		for _, s := range servers {
			if s != nil {
				s.Close()
			}
		}
	}()
	for i := range servers {
		join := ""
		if i > 0 {
			join = addrs[(i-1)%3] // a metadata node
		}
		servers[i] = startServer(t, filepath.Join(root, fmt.Sprint(i)), addrs[i], join, i < 3)
	}
	c, err := client.Dial(addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nodes, err := c.Meta().Nodes(ctx(t))
	if err != nil || len(nodes) != 5 {
		t.Fatalf("registry: %+v %v", nodes, err)
	}
	voters := 0
	for _, n := range nodes {
		if n.Roles&meta.RoleMeta != 0 {
			voters++
		}
	}
	if voters != 3 {
		t.Fatalf("%d metadata nodes registered, want 3: %+v", voters, nodes)
	}

	data := bytes.Repeat([]byte("puddle "), 300_000) // 2.1 MB: a few chunks
	if _, _, err := c.WriteFile(ctx(t), "/f", bytes.NewReader(data), fsys.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Stop the leader; writes go on through the others.
	lead := -1
	for i := range 3 {
		if st := servers[i].Meta().Raft().Status(); st.Lead == st.ID {
			lead = i
		}
	}
	if lead < 0 {
		t.Fatal("no leader among the voters")
	}
	if st := servers[lead].Meta().Raft().Status(); len(st.Progress) != 3 {
		t.Fatalf("the Raft group has %d members, want 3", len(st.Progress))
	}
	servers[lead].Close()
	servers[lead] = nil
	c2, err := client.Dial(addrs[(lead+1)%3], addrs[(lead+2)%3])
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, _, err := c2.WriteFile(ctx(t), "/g", bytes.NewReader([]byte("after the leader left")), fsys.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	// It restarts from its data (no new join) and serves again.
	join := ""
	if lead > 0 {
		join = addrs[(lead+1)%3]
	}
	servers[lead] = startServer(t, filepath.Join(root, fmt.Sprint(lead)), addrs[lead], join, true)
	c3, err := client.Dial(addrs[lead])
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	for p, want := range map[string][]byte{"/f": data, "/g": []byte("after the leader left")} {
		f, err := c3.OpenVersion(ctx(t), p, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		f.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %s through the restarted node: %d bytes, %v", p, len(got), err)
		}
	}
}
