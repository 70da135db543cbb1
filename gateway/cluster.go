package gateway

import (
	"context"
	"net/http"
	"slices"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

// clusterJSON is the cluster route's reply: client.ClusterStatus.
type clusterJSON struct {
	Meta     []metaNodeJSON    `json:"meta"`
	Storage  []storageNodeJSON `json:"storage"`
	Registry bool              `json:"registry"`
	// UnderReplicated sums the storage nodes' under-replicated blocks.
	UnderReplicated int `json:"under_replicated"`
}

type metaNodeJSON struct {
	Addr      string `json:"addr"`
	ID        uint64 `json:"id"`
	Role      string `json:"role"`
	Term      uint64 `json:"term"`
	Leader    uint64 `json:"leader"`
	Commit    uint64 `json:"commit"`
	Applied   uint64 `json:"applied"`
	LastIndex uint64 `json:"last_index"`
	Snapshot  uint64 `json:"snapshot"`
	Error     string `json:"error,omitempty"`
}

type storageNodeJSON struct {
	Addr            string `json:"addr"`
	ID              string `json:"id"` // overlay id, 40 hex digits
	Overlay         string `json:"overlay"`
	Replicas        int    `json:"replicas"`
	Blocks          int64  `json:"blocks"`
	Bytes           int64  `json:"bytes"`
	CachedBlocks    int64  `json:"cached_blocks"`
	UnderReplicated int    `json:"under_replicated"`
	Repairs         int64  `json:"repairs"`
	VerifyFailures  int64  `json:"verify_failures"`
	Passes          int64  `json:"passes"`
	Error           string `json:"error,omitempty"`
}

func newClusterJSON(st client.ClusterStatus) clusterJSON {
	out := clusterJSON{Meta: make([]metaNodeJSON, len(st.Meta)), Storage: make([]storageNodeJSON, len(st.Storage)),
		Registry: st.Registry, UnderReplicated: st.UnderReplicated()}
	for i, m := range st.Meta {
		out.Meta[i] = metaNodeJSON{Addr: m.Addr, ID: m.ID, Role: m.Role, Term: m.Term, Leader: m.Leader,
			Commit: m.Commit, Applied: m.Applied, LastIndex: m.LastIdx, Snapshot: m.Snapshot, Error: m.Err}
	}
	for i, s := range st.Storage {
		out.Storage[i] = storageNodeJSON{Addr: s.Addr, Overlay: s.Overlay, Replicas: s.Replicas,
			Blocks: s.Blocks, Bytes: s.Bytes, CachedBlocks: s.CachedBlocks, UnderReplicated: s.UnderReplicated,
			Repairs: s.Repairs, VerifyFailures: s.VerifyFailures, Passes: s.Passes, Error: s.Err}
		if s.Err == "" {
			out.Storage[i].ID = s.ID.String()
		}
	}
	return out
}

// cluster reports every node's status; 503 when no metadata node
// answers.
func (g *Gateway) cluster(w http.ResponseWriter, r *http.Request) {
	st, err := g.c.Cluster(r.Context(), g.cfg.NodeTimeout)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newClusterJSON(st))
}

// storageAddrs returns the storage nodes the registry names, by address.
func (g *Gateway) storageAddrs(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.NodeTimeout)
	defer cancel()
	nodes, err := g.c.Meta().Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes {
		if n.Roles&meta.RoleBlocks != 0 {
			out = append(out, n.Addr)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// healthJSON is the health route's reply.
type healthJSON struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Kind  string `json:"kind,omitempty"`
}

// health answers 200 when the metadata service answers a read of the
// root, else 503.
func (g *Gateway) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.NodeTimeout)
	defer cancel()
	if _, err := g.c.Stat(ctx, "/"); err != nil {
		g.log.Debug("gateway: health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, healthJSON{Error: err.Error(), Kind: kindUnavailable})
		return
	}
	writeJSON(w, http.StatusOK, healthJSON{OK: true})
}
