package client

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node/follow"
	"github.com/puddlestore/puddlestore/node/metapb"
)

// ErrUnavailable: the cluster did not answer in time (no leader, nodes
// down or unreachable). Safe to retry later.
var ErrUnavailable = errors.New("client: cluster unavailable")

// Meta is a client of a cluster's metadata service: it finds the Raft
// leader itself, follows leader hints, and retries what is safe to
// retry. Commands are exactly-once (a session id and sequence number per
// command, reused by retries), so a commit whose answer was lost is never
// applied twice. Safe for concurrent use.
type Meta struct {
	cl       *follow.Cluster
	sessions *follow.Sessions
	stale    bool // reads may be served by any node, from its own state
}

// DialMeta returns a client of the metadata nodes at addrs (their client
// addresses; any subset that includes one live node will do). It does not
// connect until the first request.
func DialMeta(addrs ...string) (*Meta, error) {
	cl, err := follow.New(ErrUnavailable, addrs...)
	if err != nil {
		return nil, err
	}
	return &Meta{cl: cl, sessions: new(follow.Sessions)}, nil
}

// Stale returns a view of m whose reads any node may serve from its own
// state, which may lag the leader's by a little; m's reads are
// linearizable.
func (m *Meta) Stale() *Meta {
	s := *m
	s.stale = true
	return &s
}

// Close closes the connections.
func (m *Meta) Close() error { return m.cl.Close() }

// fromPBError rebuilds a meta error (so errors.Is(err, meta.ErrNotExist)
// holds on the client) or gives a cluster error its verdict.
func fromPBError(e *metapb.Error) (follow.Verdict, bool) {
	if e == nil {
		return follow.Done(), true
	}
	if k := meta.Kind(e.GetKind()); k != 0 {
		me := &meta.Error{Op: e.GetOp(), Kind: k, Path: e.GetPath(), Msg: e.GetMessage()}
		if c := e.GetCurrent(); c != nil {
			v := fromPBVersion(c)
			me.Current = &v
		}
		return follow.Final(me), false
	}
	err := errors.New(e.GetMessage())
	if e.GetCluster() == metapb.Error_NOT_LEADER {
		return follow.NotLeader(e.GetLeaderHint(), err), false
	}
	return follow.Retry(err), false
}

func fromPBVersion(v *metapb.Version) meta.Version {
	out := meta.Version{Number: v.GetNumber(), Size: v.GetSize(), Time: v.GetTime(), Writer: v.GetWriter(), Mode: v.GetMode(),
		Inline: v.GetInline(), Data: string(v.GetData())}
	copy(out.Ref[:], v.GetRef())
	return out
}

func fromPBInfo(i *metapb.Info) meta.Info {
	out := meta.Info{Name: i.GetName(), ID: i.GetId(), Dir: i.GetDir(), Size: i.GetSize(), Mode: i.GetMode(),
		Owner: i.GetOwner(), MTime: i.GetMtime(), CTime: i.GetCtime(), Versions: i.GetVersions()}
	if v := i.GetVersion(); v != nil {
		out.Version = fromPBVersion(v)
	}
	return out
}

// Apply runs one command (built with meta's helpers) exactly once and
// returns its result; the leader stamps its time. A meta error (NotExist,
// Conflict, ...) is returned as a *meta.Error.
func (m *Meta) Apply(ctx context.Context, c meta.Command) (_ meta.Result, err error) {
	defer observe("meta_"+c.Op.String(), time.Now(), &err)
	s := m.sessions.Take()
	defer m.sessions.Put(s)
	s.Seq++
	c.Client, c.Seq = s.ID, s.Seq
	req := &metapb.ApplyRequest{Command: c.Encode()}
	var res meta.Result
	err = m.cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn, _ string) (follow.Verdict, error) {
		r, err := metapb.NewMetaClient(cc).Apply(ctx, req)
		if err != nil {
			return follow.Verdict{}, err
		}
		v, ok := fromPBError(r.GetError())
		if ok {
			res = meta.Result{Index: r.GetIndex(), Time: r.GetTime()}
			if pv := r.GetVersion(); pv != nil {
				res.Version = fromPBVersion(pv)
			}
			if r.GetLeaseToken() != 0 {
				res.Lease = meta.Lease{Path: c.Path, Owner: r.GetLeaseOwner(), Token: r.GetLeaseToken(), Expires: r.GetLeaseExpires()}
			}
		}
		return v, nil
	})
	return res, err
}

// read runs a read RPC through the cluster. Stale reads are still sent
// to the leader when one is known (it is the freshest), else anywhere.
func read[R interface{ GetError() *metapb.Error }](ctx context.Context, m *Meta, op string, call func(context.Context, metapb.MetaClient) (R, error)) (_ R, err error) {
	defer observe("meta_"+op, time.Now(), &err)
	var out R
	err = m.cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn, _ string) (follow.Verdict, error) {
		r, err := call(ctx, metapb.NewMetaClient(cc))
		if err != nil {
			return follow.Verdict{}, err
		}
		out = r
		v, _ := fromPBError(r.GetError())
		return v, nil
	})
	return out, err
}

func (m *Meta) request(path string, at int64) *metapb.ReadRequest {
	return &metapb.ReadRequest{Path: path, At: at, Stale: m.stale}
}

// Stat describes the entry at path as of at (unix nanoseconds; 0: now).
func (m *Meta) Stat(ctx context.Context, path string, at int64) (meta.Info, error) {
	r, err := read(ctx, m, "stat", func(ctx context.Context, c metapb.MetaClient) (*metapb.StatReply, error) {
		return c.Stat(ctx, m.request(path, at))
	})
	if err != nil {
		return meta.Info{}, err
	}
	return fromPBInfo(r.GetInfo()), nil
}

// ReadDir lists the directory at path as of at, by name.
func (m *Meta) ReadDir(ctx context.Context, path string, at int64) ([]meta.Info, error) {
	r, err := read(ctx, m, "readdir", func(ctx context.Context, c metapb.MetaClient) (*metapb.ReadDirReply, error) {
		return c.ReadDir(ctx, m.request(path, at))
	})
	if err != nil {
		return nil, err
	}
	out := make([]meta.Info, len(r.GetEntries()))
	for i, e := range r.GetEntries() {
		out[i] = fromPBInfo(e)
	}
	return out, nil
}

// History returns the versions, oldest first, of the file at path as of
// at.
func (m *Meta) History(ctx context.Context, path string, at int64) ([]meta.Version, error) {
	r, err := read(ctx, m, "history", func(ctx context.Context, c metapb.MetaClient) (*metapb.HistoryReply, error) {
		return c.History(ctx, m.request(path, at))
	})
	if err != nil {
		return nil, err
	}
	out := make([]meta.Version, len(r.GetVersions()))
	for i, v := range r.GetVersions() {
		out[i] = fromPBVersion(v)
	}
	return out, nil
}

// Version returns version number of the file at path as of at, with its
// inline data (which History leaves out).
func (m *Meta) Version(ctx context.Context, path string, number uint64, at int64) (meta.Version, error) {
	r, err := read(ctx, m, "version", func(ctx context.Context, c metapb.MetaClient) (*metapb.VersionReply, error) {
		req := m.request(path, at)
		req.Number = number
		return c.Version(ctx, req)
	})
	if err != nil {
		return meta.Version{}, err
	}
	return fromPBVersion(r.GetVersion()), nil
}

// Nodes lists the cluster members the registry knows.
func (m *Meta) Nodes(ctx context.Context) ([]meta.Node, error) {
	r, err := read(ctx, m, "nodes", func(ctx context.Context, c metapb.MetaClient) (*metapb.NodesReply, error) {
		return c.Nodes(ctx, &metapb.ReadRequest{Stale: m.stale})
	})
	if err != nil {
		return nil, err
	}
	out := make([]meta.Node, len(r.GetNodes()))
	for i, n := range r.GetNodes() {
		out[i] = meta.Node{ID: n.GetId(), Addr: n.GetAddr(), Roles: meta.Roles(n.GetRoles()), Updated: n.GetUpdated()}
	}
	return out, nil
}
