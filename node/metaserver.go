package node

import (
	"context"
	"errors"
	"time"

	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node/metapb"
	"github.com/puddlestore/puddlestore/raft"
)

// metaServer is the metadata service (node/metapb) of a node whose Raft
// group replicates a meta.State.
type metaServer struct {
	metapb.UnimplementedMetaServer
	n *Node
}

// metaError maps an error to the wire: a meta kind, or a cluster error
// with a leader hint.
func (s *metaServer) metaError(err error) *metapb.Error {
	if err == nil {
		return nil
	}
	e := &metapb.Error{Message: err.Error()}
	var me *meta.Error
	var nl *raft.NotLeaderError
	switch {
	case errors.As(err, &me):
		// The client rebuilds the *meta.Error from its fields.
		e.Kind, e.Op, e.Path, e.Message = uint32(me.Kind), me.Op, me.Path, me.Msg
		if me.Current != nil {
			e.Current = pbVersion(*me.Current)
		}
	case errors.As(err, &nl):
		e.Cluster = metapb.Error_NOT_LEADER
		e.LeaderHint = s.n.clientAddrOf(nl.Leader)
	case errors.Is(err, raft.ErrProposalDropped), errors.Is(err, ErrLeadershipLost):
		e.Cluster = metapb.Error_DROPPED
	default:
		e.Cluster = metapb.Error_UNAVAILABLE
	}
	return e
}

// pbVersion puts a version on the wire, with its inline data if it has it
// (meta leaves the data out of listings, results and errors already).
func pbVersion(v meta.Version) *metapb.Version {
	out := &metapb.Version{Number: v.Number, Ref: v.Ref[:], Size: v.Size, Time: v.Time, Writer: v.Writer, Mode: v.Mode, Inline: v.Inline}
	if v.Data != "" {
		out.Data = []byte(v.Data)
	}
	return out
}

func pbInfo(i meta.Info) *metapb.Info {
	out := &metapb.Info{Name: i.Name, Id: i.ID, Dir: i.Dir, Size: i.Size, Mode: i.Mode, Owner: i.Owner,
		Mtime: i.MTime, Ctime: i.CTime, Versions: i.Versions}
	if !i.Dir {
		out.Version = pbVersion(i.Version)
	}
	return out
}

// Apply stamps the command with this node's clock and proposes it.
func (s *metaServer) Apply(ctx context.Context, req *metapb.ApplyRequest) (*metapb.ApplyReply, error) {
	c, err := meta.DecodeCommand(req.GetCommand())
	if err != nil {
		return &metapb.ApplyReply{Error: s.metaError(err)}, nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if st := s.n.raft.Status(); st.State != raft.StateLeader {
		return &metapb.ApplyReply{Error: s.metaError(&raft.NotLeaderError{Leader: st.Lead})}, nil
	}
	// The leader's clock, not the client's: clients need no synchronized
	// clocks, and a client far in the future cannot drag the state
	// machine's time along (meta/doc.go, "Time").
	c.Time = time.Now().UnixNano()
	res, _, err := s.n.raft.Propose(ctx, c.Encode())
	if err != nil {
		return &metapb.ApplyReply{Error: s.metaError(err)}, nil
	}
	r, ok := res.(meta.Result)
	if !ok {
		return &metapb.ApplyReply{Error: s.metaError(errors.New("node: meta: unexpected result"))}, nil
	}
	out := &metapb.ApplyReply{Index: r.Index, Time: r.Time}
	if r.Version.Number != 0 {
		out.Version = pbVersion(r.Version)
	}
	if r.Lease.Token != 0 {
		out.LeaseOwner, out.LeaseToken, out.LeaseExpires = r.Lease.Owner, r.Lease.Token, r.Lease.Expires
	}
	return out, nil
}

// read waits, unless stale, until this node has applied everything
// committed when the read arrived (ReadIndex), and returns the time to
// read as of.
func (s *metaServer) read(ctx context.Context, req *metapb.ReadRequest) (int64, *metapb.Error) {
	if !req.GetStale() {
		ctx, cancel := withTimeout(ctx)
		defer cancel()
		if err := s.n.raft.ReadBarrier(ctx); err != nil {
			return 0, s.metaError(err)
		}
	}
	if req.GetAt() == 0 {
		return meta.Latest, nil
	}
	return req.GetAt(), nil
}

func (s *metaServer) Stat(ctx context.Context, req *metapb.ReadRequest) (*metapb.StatReply, error) {
	at, perr := s.read(ctx, req)
	if perr != nil {
		return &metapb.StatReply{Error: perr}, nil
	}
	info, err := s.n.meta.Stat(req.GetPath(), at)
	if err != nil {
		return &metapb.StatReply{Error: s.metaError(err)}, nil
	}
	return &metapb.StatReply{Info: pbInfo(info)}, nil
}

func (s *metaServer) ReadDir(ctx context.Context, req *metapb.ReadRequest) (*metapb.ReadDirReply, error) {
	at, perr := s.read(ctx, req)
	if perr != nil {
		return &metapb.ReadDirReply{Error: perr}, nil
	}
	infos, err := s.n.meta.ReadDir(req.GetPath(), at)
	if err != nil {
		return &metapb.ReadDirReply{Error: s.metaError(err)}, nil
	}
	out := &metapb.ReadDirReply{Entries: make([]*metapb.Info, len(infos))}
	for i, info := range infos {
		out.Entries[i] = pbInfo(info)
	}
	return out, nil
}

func (s *metaServer) History(ctx context.Context, req *metapb.ReadRequest) (*metapb.HistoryReply, error) {
	at, perr := s.read(ctx, req)
	if perr != nil {
		return &metapb.HistoryReply{Error: perr}, nil
	}
	vs, err := s.n.meta.History(req.GetPath(), at)
	if err != nil {
		return &metapb.HistoryReply{Error: s.metaError(err)}, nil
	}
	out := &metapb.HistoryReply{Versions: make([]*metapb.Version, len(vs))}
	for i, v := range vs {
		out.Versions[i] = pbVersion(v)
	}
	return out, nil
}

func (s *metaServer) Version(ctx context.Context, req *metapb.ReadRequest) (*metapb.VersionReply, error) {
	at, perr := s.read(ctx, req)
	if perr != nil {
		return &metapb.VersionReply{Error: perr}, nil
	}
	v, err := s.n.meta.VersionOf(req.GetPath(), req.GetNumber(), at)
	if err != nil {
		return &metapb.VersionReply{Error: s.metaError(err)}, nil
	}
	return &metapb.VersionReply{Version: pbVersion(v)}, nil
}

func (s *metaServer) Nodes(ctx context.Context, req *metapb.ReadRequest) (*metapb.NodesReply, error) {
	if _, perr := s.read(ctx, req); perr != nil {
		return &metapb.NodesReply{Error: perr}, nil
	}
	ns := s.n.meta.Nodes()
	out := &metapb.NodesReply{Nodes: make([]*metapb.Node, len(ns))}
	for i, n := range ns {
		out.Nodes[i] = &metapb.Node{Id: n.ID, Addr: n.Addr, Roles: uint32(n.Roles), Updated: n.Updated}
	}
	return out, nil
}
