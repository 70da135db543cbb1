package node

import (
	"context"
	"errors"

	"github.com/puddlestore/puddlestore/node/kvpb"
	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// clusterServer changes membership through the leader, one server at a
// time (see package raft).
type clusterServer struct {
	kvpb.UnimplementedClusterServer
	n *Node
}

func (s *clusterServer) change(ctx context.Context, cc pb.ConfChange) *kvpb.MemberResponse {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if st := s.n.raft.Status(); st.State != raft.StateLeader {
		return &kvpb.MemberResponse{Error: s.n.errorFor(&raft.NotLeaderError{Leader: st.Lead})}
	}
	err := s.n.raft.ProposeConfChange(ctx, cc)
	return &kvpb.MemberResponse{Error: s.errorFor(err)}
}

func (s *clusterServer) errorFor(err error) *kvpb.Error {
	if err == nil {
		return nil
	}
	if errors.Is(err, raft.ErrLearnerNotCaughtUp) || errors.Is(err, raft.ErrConfChangePending) {
		return &kvpb.Error{Kind: kvpb.ErrorKind_UNAVAILABLE, Message: err.Error()}
	}
	e := s.n.errorFor(err)
	if e.Kind == kvpb.ErrorKind_UNAVAILABLE && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrStopped) {
		e.Kind = kvpb.ErrorKind_INVALID // refused by the core: retrying will not help
	}
	return e
}

func (s *clusterServer) AddMember(ctx context.Context, req *kvpb.AddMemberRequest) (*kvpb.MemberResponse, error) {
	if req.Id == 0 || req.PeerAddr == "" {
		return &kvpb.MemberResponse{Error: &kvpb.Error{Kind: kvpb.ErrorKind_INVALID, Message: "add member: id and peer address are required"}}, nil
	}
	return s.change(ctx, pb.ConfChange{Type: pb.ConfAddLearner, NodeID: req.Id, Context: MemberContext(req.PeerAddr, req.ClientAddr)}), nil
}

func (s *clusterServer) PromoteMember(ctx context.Context, req *kvpb.MemberRequest) (*kvpb.MemberResponse, error) {
	return s.change(ctx, pb.ConfChange{Type: pb.ConfAddVoter, NodeID: req.Id}), nil
}

func (s *clusterServer) RemoveMember(ctx context.Context, req *kvpb.MemberRequest) (*kvpb.MemberResponse, error) {
	return s.change(ctx, pb.ConfChange{Type: pb.ConfRemoveNode, NodeID: req.Id}), nil
}

func (s *clusterServer) TransferLeader(ctx context.Context, req *kvpb.MemberRequest) (*kvpb.MemberResponse, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err := s.n.raft.TransferLeadership(ctx, req.Id)
	return &kvpb.MemberResponse{Error: s.errorFor(err)}, nil
}
