package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/overlay"
)

// maxWhereBlocks bounds the blocks the where route lists (and asks the
// placement of): a 1 GiB file of 1 MiB chunks has ~1000.
const maxWhereBlocks = 1024

// whereParallel bounds the Where calls in flight for one request.
const whereParallel = 8

// whereJSON is the where route's reply.
type whereJSON struct {
	Path    string `json:"path"`
	Version uint64 `json:"version"`
	Size    uint64 `json:"size"`
	// Inline: the content is held in the metadata; no block.
	Inline bool        `json:"inline"`
	Blocks []blockJSON `json:"blocks"`
	// Truncated: the version has more than maxWhereBlocks blocks; the
	// first ones are listed.
	Truncated bool       `json:"truncated,omitempty"`
	Route     *routeJSON `json:"route,omitempty"`
	// From is the storage node asked for the blocks and placements.
	From string `json:"from,omitempty"`
}

type blockJSON struct {
	Ref  string `json:"ref"`
	Kind string `json:"kind"` // "manifest" or "chunk"
	Size int64  `json:"size"`
	// Placement: the nodes that should hold the block; Located: the
	// holders the overlay finds, nearest to the asked node first.
	Placement []holdingJSON `json:"placement"`
	Located   []holdingJSON `json:"located"`
	Error     string        `json:"error,omitempty"`
	ref       blockstore.Ref
}

type holdingJSON struct {
	Addr  string `json:"addr"`
	ID    string `json:"id"`
	Holds bool   `json:"holds"`
	Error string `json:"error,omitempty"`
}

type routeJSON struct {
	Key   string     `json:"key"`
	From  string     `json:"from"`
	Hops  []peerJSON `json:"hops"`
	Error string     `json:"error,omitempty"`
}

func holdingsJSON(hs []blocks.Holding) []holdingJSON {
	out := make([]holdingJSON, len(hs))
	for i, h := range hs {
		out[i] = holdingJSON{Addr: string(h.Peer.Addr), ID: h.Peer.ID.String(), Holds: h.Has}
		if h.Err != nil {
			out[i].Error = h.Err.Error()
		}
	}
	return out
}

// where reports where a file version's blocks are (?version=N, ?at=).
func (g *Gateway) where(w http.ResponseWriter, r *http.Request) {
	p, err := filePath(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	n, err := versionParam(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	c, err := g.view(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	ctx := r.Context()
	v, err := findVersion(ctx, c, p, n)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	out := whereJSON{Path: p, Version: v.Number, Size: v.Size, Inline: v.Inline, Blocks: []blockJSON{}}
	if v.Inline {
		writeJSON(w, http.StatusOK, out)
		return
	}
	addrs, err := g.storageAddrs(ctx)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	remote, root, err := g.rootManifest(ctx, addrs, blockstore.Ref(v.Ref))
	if err != nil {
		g.fail(w, r, fmt.Errorf("gateway: where %s version %d: %w", p, v.Number, err))
		return
	}
	defer remote.Close()
	out.From = remote.Addr()
	out.Blocks, out.Truncated, err = g.listBlocks(ctx, remote, blockstore.Ref(v.Ref), root)
	if err != nil {
		g.fail(w, r, fmt.Errorf("gateway: where %s version %d: %w", p, v.Number, err))
		return
	}
	g.placements(ctx, remote, out.Blocks)
	out.Route = g.route(ctx, remote.Addr(), out.Blocks[0].ref)
	writeJSON(w, http.StatusOK, out)
}

// findVersion returns version n of the file at p (0: the current one).
func findVersion(ctx context.Context, c *client.Client, p string, n uint64) (meta.Version, error) {
	info, err := c.Stat(ctx, p)
	if err != nil {
		return meta.Version{}, err
	}
	if info.Dir {
		return meta.Version{}, &meta.Error{Op: "where", Kind: meta.KindIsDir, Path: p}
	}
	if n == 0 || n == info.Version.Number {
		return info.Version, nil
	}
	vs, err := c.History(ctx, p)
	if err != nil {
		return meta.Version{}, err
	}
	for _, v := range vs {
		if v.Number == n {
			return v, nil
		}
	}
	return meta.Version{}, &meta.Error{Op: "where", Kind: meta.KindNotExist, Path: p,
		Msg: fmt.Sprintf("no version %d (the file has %d)", n, len(vs))}
}

// rootManifest fetches the root manifest through the first storage node
// that answers, and returns that node's client (to be closed).
func (g *Gateway) rootManifest(ctx context.Context, addrs []string, ref blockstore.Ref) (*blocks.Remote, []byte, error) {
	var errs []error
	for _, a := range addrs {
		rem, err := blocks.Dial(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, g.cfg.NodeTimeout)
		b, err := rem.Get(actx, ref)
		cancel()
		if err == nil {
			return rem, b, nil
		}
		rem.Close()
		errs = append(errs, err)
		if !errors.Is(err, blocks.ErrUnavailable) || ctx.Err() != nil {
			break // the block is missing or damaged, not the node
		}
	}
	if len(errs) == 0 {
		return nil, nil, fmt.Errorf("%w: the cluster has no storage nodes registered", client.ErrUnavailable)
	}
	return nil, nil, errors.Join(errs...)
}

// listBlocks lists a version's blocks from its root manifest down, each
// manifest before the blocks it lists, at most maxWhereBlocks of them.
func (g *Gateway) listBlocks(ctx context.Context, remote *blocks.Remote, ref blockstore.Ref, root []byte) ([]blockJSON, bool, error) {
	var out []blockJSON
	var walk func(ref blockstore.Ref, b []byte) error
	walk = func(ref blockstore.Ref, b []byte) error {
		if len(out) >= maxWhereBlocks {
			return nil
		}
		out = append(out, blockJSON{Ref: ref.String(), Kind: "manifest", Size: int64(len(b)), ref: ref})
		m, err := fsys.UnmarshalManifest(b)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", ref, err)
		}
		for _, e := range m.Entries {
			if len(out) >= maxWhereBlocks {
				return nil
			}
			if m.Kind == fsys.KindLeaf {
				out = append(out, blockJSON{Ref: e.Ref.String(), Kind: "chunk", Size: e.Size, ref: e.Ref})
				continue
			}
			actx, cancel := context.WithTimeout(ctx, g.cfg.NodeTimeout)
			child, err := remote.Get(actx, e.Ref)
			cancel()
			if err != nil {
				return fmt.Errorf("manifest %s: %w", e.Ref, err)
			}
			if err := walk(e.Ref, child); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(ref, root); err != nil {
		return nil, false, err
	}
	return out, len(out) >= maxWhereBlocks, nil
}

// placements asks the node where each block is, a few at a time; a
// block it cannot answer for gets an error of its own.
func (g *Gateway) placements(ctx context.Context, remote *blocks.Remote, bs []blockJSON) {
	sem := make(chan struct{}, whereParallel)
	var wg sync.WaitGroup
	for i := range bs {
		b := &bs[i]
		b.Placement, b.Located = []holdingJSON{}, []holdingJSON{}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			actx, cancel := context.WithTimeout(ctx, g.cfg.NodeTimeout)
			defer cancel()
			placed, located, err := remote.Where(actx, b.ref)
			if err != nil {
				b.Error = err.Error()
				return
			}
			b.Placement, b.Located = holdingsJSON(placed), holdingsJSON(located)
		})
	}
	wg.Wait()
}

// route traces the overlay route from the node at from to the block's
// key (its ref's first 160 bits).
func (g *Gateway) route(ctx context.Context, from string, ref blockstore.Ref) *routeJSON {
	out := &routeJSON{From: from, Hops: []peerJSON{}}
	var key id.ID
	copy(key[:], ref[:id.Size])
	out.Key = key.String()
	oc, err := overlay.Dial(from)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer oc.Close()
	ctx, cancel := context.WithTimeout(ctx, g.cfg.NodeTimeout)
	defer cancel()
	hops, err := oc.Route(ctx, key)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	for _, h := range hops {
		out.Hops = append(out.Hops, newPeerJSON(h))
	}
	return out
}
