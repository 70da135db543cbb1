package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/meta"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func ref(s string) meta.Ref {
	var r meta.Ref
	copy(r[:], s)
	return r
}

// TestMetaOverRaft: the metadata service on a 3-node Raft cluster, through
// the client: commands and their errors cross the wire with their kinds,
// a compare-and-swap race is a Conflict carrying the winner, reads as of
// a time see the past, and a leader failover loses no acknowledged
// commit.
func TestMetaOverRaft(t *testing.T) {
	c := testenv.New(t, 3, testenv.Options{Meta: true})
	m, err := client.DialMeta(c.ClientAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if _, err := m.Apply(ctx(t), meta.Mkdir("/docs", false, 0o755, "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx(t), meta.Mkdir("/docs", false, 0o755, "alice")); !errors.Is(err, meta.ErrExist) {
		t.Fatalf("second mkdir: %v, want ErrExist", err)
	}
	r1, err := m.Apply(ctx(t), meta.Commit("/docs/a", meta.ExpectAbsent(), ref("v1"), 10, 0o644, "alice", 0))
	if err != nil || r1.Version.Number != 1 {
		t.Fatalf("create: %+v %v", r1, err)
	}
	r2, err := m.Apply(ctx(t), meta.Commit("/docs/a", meta.ExpectVersion(r1.Version), ref("v2"), 20, 0o644, "bob", 0))
	if err != nil || r2.Version.Number != 2 {
		t.Fatalf("cas from v1: %+v %v", r2, err)
	}
	// A writer still on v1 loses, and learns the winner.
	_, err = m.Apply(ctx(t), meta.Commit("/docs/a", meta.ExpectVersion(r1.Version), ref("v3"), 30, 0o644, "carol", 0))
	var me *meta.Error
	if !errors.Is(err, meta.ErrConflict) || !errors.As(err, &me) || me.Current == nil || me.Current.Number != 2 || me.Current.Writer != "bob" {
		t.Fatalf("stale cas: %v (%+v), want Conflict with version 2 by bob", err, me)
	}
	if _, err := m.Apply(ctx(t), meta.Commit("/nope/a", meta.ExpectAny(), ref("x"), 1, 0o644, "alice", 0)); !errors.Is(err, meta.ErrNotExist) {
		t.Fatalf("commit under a missing dir: %v", err)
	}
	if _, err := m.Stat(ctx(t), "/docs/../etc", 0); !errors.Is(err, meta.ErrInvalid) {
		t.Fatalf("stat of a path with ..: %v", err)
	}

	info, err := m.Stat(ctx(t), "/docs/a", 0)
	if err != nil || info.Size != 20 || info.Versions != 2 || info.Version.Ref != ref("v2") {
		t.Fatalf("stat: %+v %v", info, err)
	}
	old, err := m.Stat(ctx(t), "/docs/a", r1.Time)
	if err != nil || old.Size != 10 || old.Version.Number != 1 {
		t.Fatalf("stat as of v1: %+v %v", old, err)
	}
	hist, err := m.History(ctx(t), "/docs/a", 0)
	if err != nil || len(hist) != 2 || hist[0].Writer != "alice" || hist[1].Writer != "bob" {
		t.Fatalf("history: %+v %v", hist, err)
	}

	// Kill the leader; the next commit goes to the new one, and nothing
	// acknowledged is lost.
	old0 := c.WaitLeader()
	c.Stop(old0)
	r3, err := m.Apply(ctx(t), meta.Commit("/docs/a", meta.ExpectVersion(r2.Version), ref("v3"), 30, 0o644, "dave", 0))
	if err != nil || r3.Version.Number != 3 {
		t.Fatalf("commit after failover: %+v %v", r3, err)
	}
	ents, err := m.ReadDir(ctx(t), "/docs", 0)
	if err != nil || len(ents) != 1 || ents[0].Name != "a" || ents[0].Versions != 3 {
		t.Fatalf("readdir after failover: %+v %v", ents, err)
	}
	c.Start(old0)
	stale, err := m.Stale().Stat(ctx(t), "/docs/a", 0)
	if err != nil || stale.Versions < 2 {
		t.Fatalf("stale stat: %+v %v", stale, err)
	}
	if _, err := m.Apply(ctx(t), meta.SetNode(7, "127.0.0.1:9", meta.RoleBlocks)); err != nil {
		t.Fatal(err)
	}
	ns, err := m.Nodes(ctx(t))
	if err != nil || len(ns) != 1 || ns[0].Addr != "127.0.0.1:9" || ns[0].Roles != meta.RoleBlocks {
		t.Fatalf("nodes: %+v %v", ns, err)
	}
}
