package node

import (
	"context"
	"errors"
	"time"

	"github.com/puddlestore/puddlestore/node/kvpb"
	"github.com/puddlestore/puddlestore/raft"
)

// MaxKeyBytes and MaxValueBytes bound one KV request.
const (
	MaxKeyBytes   = 4 << 10
	MaxValueBytes = 1 << 20
)

// kvServer serves kvpb.KV over a Raft group replicating a KV.
type kvServer struct {
	kvpb.UnimplementedKVServer
	n *Node
}

func (s *kvServer) errorFor(err error) *kvpb.Error { return s.n.errorFor(err) }

// errorFor maps an error to the wire's kind, with a leader hint.
func (n *Node) errorFor(err error) *kvpb.Error {
	if err == nil {
		return nil
	}
	e := &kvpb.Error{Message: err.Error()}
	var nl *raft.NotLeaderError
	switch {
	case errors.As(err, &nl):
		e.Kind = kvpb.ErrorKind_NOT_LEADER
		e.LeaderHint = n.clientAddrOf(nl.Leader)
	case errors.Is(err, raft.ErrProposalDropped), errors.Is(err, ErrLeadershipLost):
		e.Kind = kvpb.ErrorKind_DROPPED
	case errors.Is(err, ErrBadCommand), errors.Is(err, errInvalid):
		e.Kind = kvpb.ErrorKind_INVALID
	default:
		e.Kind = kvpb.ErrorKind_UNAVAILABLE
	}
	return e
}

var errInvalid = errors.New("node: invalid request")

func checkKey(key string) error {
	if key == "" {
		return errors.Join(errInvalid, errors.New("empty key"))
	}
	if len(key) > MaxKeyBytes {
		return errors.Join(errInvalid, errors.New("key too long"))
	}
	return nil
}

// requestTimeout bounds a request that carries no deadline of its own.
const requestTimeout = 10 * time.Second

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, requestTimeout)
}

// errNotKV: a metadata node's Raft group replicates the file system's
// metadata; its KV service answers only Status.
var errNotKV = errors.Join(errInvalid, errors.New("this node's Raft group holds file system metadata, not the key-value store"))

func (s *kvServer) write(ctx context.Context, c kvCommand) (KVResult, error) {
	if s.n.kv == nil {
		return KVResult{}, errNotKV
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if st := s.n.raft.Status(); st.State != raft.StateLeader {
		return KVResult{}, &raft.NotLeaderError{Leader: st.Lead}
	}
	res, _, err := s.n.raft.Propose(ctx, c.encode())
	if err != nil {
		return KVResult{}, err
	}
	kr, _ := res.(KVResult)
	return kr, nil
}

func (s *kvServer) Put(ctx context.Context, req *kvpb.PutRequest) (*kvpb.PutResponse, error) {
	if err := checkKey(req.Key); err != nil {
		return &kvpb.PutResponse{Error: s.errorFor(err)}, nil
	}
	if len(req.Value) > MaxValueBytes {
		return &kvpb.PutResponse{Error: s.errorFor(errors.Join(errInvalid, errors.New("value too large")))}, nil
	}
	res, err := s.write(ctx, kvCommand{op: opPut, clientID: req.ClientId, seq: req.Seq, key: req.Key, value: req.Value})
	return &kvpb.PutResponse{Error: s.errorFor(err), Index: res.Index}, nil
}

func (s *kvServer) Delete(ctx context.Context, req *kvpb.DeleteRequest) (*kvpb.DeleteResponse, error) {
	if err := checkKey(req.Key); err != nil {
		return &kvpb.DeleteResponse{Error: s.errorFor(err)}, nil
	}
	res, err := s.write(ctx, kvCommand{op: opDelete, clientID: req.ClientId, seq: req.Seq, key: req.Key})
	return &kvpb.DeleteResponse{Error: s.errorFor(err), Index: res.Index, Existed: res.Existed}, nil
}

func (s *kvServer) Get(ctx context.Context, req *kvpb.GetRequest) (*kvpb.GetResponse, error) {
	if err := checkKey(req.Key); err != nil {
		return &kvpb.GetResponse{Error: s.errorFor(err)}, nil
	}
	if s.n.kv == nil {
		return &kvpb.GetResponse{Error: s.errorFor(errNotKV)}, nil
	}
	if !req.Serializable {
		ctx, cancel := withTimeout(ctx)
		defer cancel()
		if err := s.n.raft.ReadBarrier(ctx); err != nil {
			return &kvpb.GetResponse{Error: s.errorFor(err)}, nil
		}
	}
	v, found, idx := s.n.kv.Get(req.Key)
	return &kvpb.GetResponse{Value: v, Found: found, Index: idx}, nil
}

func (s *kvServer) Status(ctx context.Context, _ *kvpb.StatusRequest) (*kvpb.StatusResponse, error) {
	st := s.n.raft.Status()
	resp := &kvpb.StatusResponse{
		Id: st.ID, Role: st.State.String(), Term: st.Term, Leader: st.Lead,
		Commit: st.Commit, Applied: st.Applied, LastIndex: st.LastIndex,
		SnapshotIndex: st.SnapshotIndex, LeaderClientAddr: s.n.clientAddrOf(st.Lead),
	}
	peers := s.n.raft.Peers()
	add := func(id uint64, learner bool) {
		m := &kvpb.Member{Id: id, PeerAddr: string(peers[id]), ClientAddr: s.n.clientAddrOf(id), Learner: learner}
		if p, ok := st.Progress[id]; ok {
			m.Match = p.Match
		}
		resp.Members = append(resp.Members, m)
	}
	for _, id := range st.ConfState.Voters {
		add(id, false)
	}
	for _, id := range st.ConfState.Learners {
		add(id, true)
	}
	return resp, nil
}
