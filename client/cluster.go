package client

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node/kvclient"
	"github.com/puddlestore/puddlestore/overlay"
)

// MetaNodeStatus is one metadata node's Raft state, as it reports it.
type MetaNodeStatus struct {
	Addr                     string // client address
	ID                       uint64
	Role                     string // leader, follower, candidate, learner, ...
	Term, Leader             uint64
	Commit, Applied, LastIdx uint64
	Snapshot                 uint64 // index of its newest snapshot
	Err                      string // why it did not answer; empty if it did
}

// StorageNodeStatus is one storage node's blocks and overlay, as it
// reports them.
type StorageNodeStatus struct {
	Addr                    string
	ID                      id.ID  // overlay id
	Overlay                 string // tapestry or chord
	Replicas                int
	Blocks, Bytes           int64
	CachedBlocks            int64
	UnderReplicated         int
	Repairs, VerifyFailures int64
	Passes                  int64
	Err                     string // why it did not answer; empty if it did
}

// ClusterStatus is what every node of the cluster says of itself: the
// metadata nodes (those this client was given and the members they name)
// and the storage nodes the registry names.
type ClusterStatus struct {
	Meta    []MetaNodeStatus    // by address
	Storage []StorageNodeStatus // by address
	// Registry is false when the registry could not be read (no leader,
	// or a key-value cluster without one); Storage is then empty.
	Registry bool
}

// UnderReplicated sums the storage nodes' under-replicated blocks.
func (s ClusterStatus) UnderReplicated() int {
	n := 0
	for _, x := range s.Storage {
		n += x.UnderReplicated
	}
	return n
}

// Cluster asks every node for its state, concurrently, each bounded by
// perNode. It fails only when no metadata node answers.
func (c *Client) Cluster(ctx context.Context, perNode time.Duration) (ClusterStatus, error) {
	return c.meta.Cluster(ctx, perNode)
}

// Cluster is Client.Cluster.
func (m *Meta) Cluster(ctx context.Context, perNode time.Duration) (ClusterStatus, error) {
	var out ClusterStatus
	rctx, cancel := context.WithTimeout(ctx, perNode)
	nodes, err := m.Nodes(rctx)
	cancel()
	out.Registry = err == nil
	var storageAddrs []string
	for _, n := range nodes {
		if n.Roles&meta.RoleBlocks != 0 {
			storageAddrs = append(storageAddrs, n.Addr)
		}
	}
	slices.Sort(storageAddrs)
	out.Storage = make([]StorageNodeStatus, len(storageAddrs))
	var wg sync.WaitGroup
	for i, a := range storageAddrs {
		wg.Go(func() { out.Storage[i] = storageStatus(ctx, a, perNode) })
	}

	// The metadata nodes: those this client knows, then the members they
	// name (by client address).
	metaAddrs := slices.Clone(m.cl.Addrs())
	kc, err := kvclient.Dial(metaAddrs...)
	if err != nil {
		wg.Wait()
		return out, err
	}
	defer kc.Close()
	var mu sync.Mutex
	asked := map[string]bool{}
	var ask func(a string)
	ask = func(a string) {
		mu.Lock()
		if asked[a] {
			mu.Unlock()
			return
		}
		asked[a] = true
		mu.Unlock()
		sctx, cancel := context.WithTimeout(ctx, perNode)
		defer cancel()
		ms := MetaNodeStatus{Addr: a}
		st, err := kc.Status(sctx, a)
		if err != nil {
			ms.Err = err.Error()
		} else {
			ms = MetaNodeStatus{Addr: a, ID: st.GetId(), Role: st.GetRole(), Term: st.GetTerm(), Leader: st.GetLeader(),
				Commit: st.GetCommit(), Applied: st.GetApplied(), LastIdx: st.GetLastIndex(), Snapshot: st.GetSnapshotIndex()}
		}
		mu.Lock()
		out.Meta = append(out.Meta, ms)
		mu.Unlock()
		var mwg sync.WaitGroup
		for _, mem := range st.GetMembers() {
			if ca := mem.GetClientAddr(); ca != "" {
				mwg.Go(func() { ask(ca) })
			}
		}
		mwg.Wait()
	}
	var awg sync.WaitGroup
	for _, a := range metaAddrs {
		awg.Go(func() { ask(a) })
	}
	awg.Wait()
	wg.Wait()
	slices.SortFunc(out.Meta, func(a, b MetaNodeStatus) int { return strings.Compare(a.Addr, b.Addr) })
	for _, s := range out.Meta {
		if s.Err == "" {
			return out, nil
		}
	}
	return out, &unavailableError{addrs: metaAddrs}
}

func storageStatus(ctx context.Context, addr string, perNode time.Duration) StorageNodeStatus {
	out := StorageNodeStatus{Addr: addr}
	sctx, cancel := context.WithTimeout(ctx, perNode)
	defer cancel()
	r, err := blocks.Dial(addr)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	defer r.Close()
	st, err := r.Status(sctx)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	out.ID, out.Replicas = st.Self.ID, st.Replicas
	out.Blocks, out.Bytes, out.CachedBlocks = st.Blocks, st.Bytes, st.CachedBlocks
	out.UnderReplicated, out.Repairs, out.VerifyFailures, out.Passes = st.UnderReplicated, st.Repairs, st.VerifyFailures, st.Passes
	if oc, err := overlay.Dial(addr); err == nil {
		if ost, err := oc.Status(sctx); err == nil {
			out.Overlay = ost.Overlay
		}
		oc.Close()
	}
	return out
}

// unavailableError: no metadata node answered.
type unavailableError struct{ addrs []string }

func (e *unavailableError) Error() string {
	return "client: cluster unavailable: no metadata node answered at " + strings.Join(e.addrs, ",")
}

func (e *unavailableError) Unwrap() error { return ErrUnavailable }
