package rafttest

import (
	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// process is the driver loop of package raft's doc, one Ready at a time:
// send what may go before persisting, persist (fsync if MustSync), send
// the rest, apply, Advance; then snapshot if due.
func (c *Cluster) process(s *Server) {
	c.t.Helper()
	for s.up && s.Node.HasReady() {
		rd := s.Node.Ready()
		becameLeader := false
		if rd.SoftState != nil {
			becameLeader = rd.SoftState.State == raft.StateLeader && s.soft.State != raft.StateLeader
			s.soft = *rd.SoftState
			c.logf("%d is %s (leader %d)", s.ID, s.soft.State, s.soft.Lead)
		}
		for _, m := range rd.Messages {
			if raft.SendBeforePersist(m) {
				c.send(s, m)
			}
		}
		if !rd.Snapshot.IsEmpty() {
			s.Disk.SaveSnapshot(rd.Snapshot, true)
		}
		if err := s.Disk.Save(rd.HardState, rd.Entries); err != nil {
			c.Fatalf("server %d: %v", s.ID, err)
		}
		if s.crashMid && rd.MustSync {
			// Power fails before the fsync: the writes above are lost.
			c.Crash(s.ID)
			return
		}
		if rd.MustSync {
			s.Disk.Sync()
		}
		c.check.saved(s, rd)
		if becameLeader {
			c.check.leader(s)
		}
		for _, m := range rd.Messages {
			if !raft.SendBeforePersist(m) {
				c.send(s, m)
			}
		}
		if !rd.Snapshot.IsEmpty() {
			c.restore(s, rd.Snapshot)
		}
		for _, e := range rd.CommittedEntries {
			c.apply(s, e)
		}
		for _, rs := range rd.ReadStates {
			for _, w := range s.reads {
				if w.ctx == string(rs.RequestCtx) && !w.ready {
					w.ready, w.index = true, rs.Index
				}
			}
		}
		s.Node.Advance(rd)
		c.serveReads(s)
		c.maybeSnapshot(s)
	}
}

func (c *Cluster) restore(s *Server, snap pb.Snapshot) {
	idx := snap.Metadata.Index
	if idx <= s.applied {
		c.Fatalf("server %d: snapshot at %d but it has applied %d", s.ID, idx, s.applied)
	}
	if err := s.KV.Restore(snap.Data); err != nil {
		c.Fatalf("server %d: %v", s.ID, err)
	}
	c.check.restored(s, snap)
	s.applied, s.snapAt = idx, idx
}

func (c *Cluster) apply(s *Server, e pb.Entry) {
	if e.Index != s.applied+1 {
		c.Fatalf("server %d applies entry %d after %d", s.ID, e.Index, s.applied)
	}
	c.check.applied(s, e)
	s.applied = e.Index
	if e.Type != pb.EntryNormal || len(e.Data) == 0 {
		return
	}
	var op Op
	if err := op.Unmarshal(e.Data); err != nil {
		c.Fatalf("server %d: entry %d: %v", s.ID, e.Index, err)
	}
	value, _ := s.KV.Apply(op)
	c.applied(s, e, op, value)
}

func (c *Cluster) maybeSnapshot(s *Server) {
	if c.cfg.SnapshotEvery == 0 || s.applied < s.snapAt+c.cfg.SnapshotEvery {
		return
	}
	snap, err := s.Node.Compact(s.applied, s.KV.Snapshot(), c.cfg.SnapshotKeep)
	if err != nil {
		c.Fatalf("server %d: compact at %d: %v", s.ID, s.applied, err)
	}
	s.Disk.SaveSnapshot(snap, false)
	s.Disk.Sync()
	s.snapAt = s.applied
}
