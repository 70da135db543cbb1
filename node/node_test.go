package node_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/node/kvclient"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestClusterPutGet(t *testing.T) {
	c := testenv.New(t, 3, testenv.Options{})
	cl := c.Client()
	for i := range 50 {
		if err := cl.Put(ctx(t), fmt.Sprint("k", i), []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		v, ok, err := cl.Get(ctx(t), fmt.Sprint("k", i))
		if err != nil || !ok || string(v) != fmt.Sprint("v", i) {
			t.Fatalf("get k%d = %q %v %v", i, v, ok, err)
		}
	}
	if _, ok, err := cl.Get(ctx(t), "missing"); err != nil || ok {
		t.Fatalf("missing key: found=%v err=%v", ok, err)
	}
}

func TestLeaderFailoverKeepsAcknowledgedWrites(t *testing.T) {
	c := testenv.New(t, 3, testenv.Options{SnapshotEntries: 50})
	cl := c.Client()
	var mu sync.Mutex
	acked := map[string]string{}
	write := func(from, to int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from; i < to; i++ {
					k, v := fmt.Sprintf("w%d-%d", w, i), fmt.Sprint("val", i)
					if err := cl.Put(ctx(t), k, []byte(v)); err != nil {
						t.Errorf("put %s: %v", k, err)
						return
					}
					mu.Lock()
					acked[k] = v
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	write(0, 40)
	old := c.Leader()
	c.Stop(old)
	testenv.WaitFor(t, 20*time.Second, "a new leader", func() (int, bool) {
		l := c.Leader()
		return l, l >= 0 && l != old
	})
	write(40, 80) // past SnapshotEntries: the stopped node needs a snapshot
	c.Start(old)
	// The restarted node catches up (by snapshot or log).
	want := c.Nodes[c.WaitLeader()].Raft().Status().Commit
	testenv.WaitFor(t, 20*time.Second, "the restarted node to catch up", func() (uint64, bool) {
		st := c.Nodes[old].Raft().Status()
		return st.Applied, st.Applied >= want
	})
	for k, v := range acked {
		got, ok, err := cl.Get(ctx(t), k)
		if err != nil || !ok || string(got) != v {
			t.Fatalf("acknowledged write %s=%s lost: got %q %v %v", k, v, got, ok, err)
		}
	}
	// The restarted node's own state machine holds every write too.
	for k, v := range acked {
		got, ok, _ := c.Nodes[old].KV().Get(k)
		if !ok || string(got) != v {
			t.Fatalf("restarted node lacks %s", k)
		}
	}
}

func TestMembershipLearnerPromoteRemoveLeader(t *testing.T) {
	c := testenv.New(t, 3, testenv.Options{SnapshotEntries: 20})
	cl := c.Client()
	for i := range 30 {
		if err := cl.Put(ctx(t), fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	j := c.Join()
	m := c.Members[j]
	if err := cl.AddMember(ctx(t), m.ID, m.PeerAddr, m.ClientAddr); err != nil {
		t.Fatal(err)
	}
	if err := cl.PromoteMember(ctx(t), m.ID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "node 4 to be a voter with the data", func() (bool, bool) {
		st := c.Nodes[j].Raft().Status()
		_, ok, _ := c.Nodes[j].KV().Get("k29")
		return ok, ok && len(st.ConfState.Voters) == 4
	})
	// Remove the leader: it steps down and the rest carry on.
	old := c.Leader()
	if err := cl.RemoveMember(ctx(t), c.Members[old].ID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "a new leader among the rest", func() (int, bool) {
		l := c.Leader()
		return l, l >= 0 && l != old
	})
	c.Stop(old)
	if err := cl.Put(ctx(t), "after", []byte("removal")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := cl.Get(ctx(t), "after"); err != nil || !ok || string(v) != "removal" {
		t.Fatalf("get after removal: %q %v %v", v, ok, err)
	}
	// Leadership transfer to a chosen voter.
	var target uint64
	for i, n := range c.Nodes {
		if n != nil && i != c.Leader() {
			target = c.Members[i].ID
			break
		}
	}
	if err := cl.TransferLeader(ctx(t), target); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "the transfer", func() (bool, bool) {
		l := c.Leader()
		return true, l >= 0 && c.Members[l].ID == target
	})
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	c := testenv.New(t, 3, testenv.Options{})
	cl := c.Client()
	if err := cl.Put(ctx(t), "", []byte("x")); !errors.Is(err, kvclient.ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if err := cl.Put(ctx(t), string(make([]byte, node.MaxKeyBytes+1)), nil); !errors.Is(err, kvclient.ErrInvalid) {
		t.Fatalf("long key: %v", err)
	}
	if err := cl.Put(ctx(t), "big", make([]byte, node.MaxValueBytes+1)); !errors.Is(err, kvclient.ErrInvalid) {
		t.Fatalf("huge value: %v", err)
	}
	if _, _, err := cl.Get(ctx(t), ""); !errors.Is(err, kvclient.ErrInvalid) {
		t.Fatalf("get empty key: %v", err)
	}
	// The cluster still works.
	if err := cl.Put(ctx(t), "ok", []byte("1")); err != nil {
		t.Fatal(err)
	}
}
