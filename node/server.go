package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node/kvclient"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

// ServerConfig assembles one PuddleStore node process: a storage node
// and, with Meta, a voter of the metadata Raft group, all on one port.
type ServerConfig struct {
	// Dir holds the node's data: its blocks, its id and, with Meta, its
	// Raft log (Dir/meta).
	Dir string
	// Listen is the node's one address ("host:port") for peers and
	// clients alike.
	Listen string
	// Bootstrap starts a new cluster with this node as its first
	// metadata voter (needs Meta). Join names any metadata node of an
	// existing cluster instead. Both are ignored for the Raft group once
	// Dir holds its state (a restart), but Join is still where a
	// restarted node finds the mesh and the registry.
	Bootstrap bool
	Join      string
	// Meta makes the node a metadata voter: it joins the Raft group as a
	// learner and is promoted once it has caught up.
	Meta bool
	// TickInterval is Raft's tick (default 100ms); Overlay and Blocks
	// tune the storage node (see StorageConfig).
	TickInterval time.Duration
	Overlay      overlay.Options
	Blocks       blocks.Config
	Logger       *slog.Logger
}

// Server is a running node process.
type Server struct {
	dir     string
	log     *slog.Logger
	storage *Storage
	meta    *Node // nil without Meta
	stop    chan struct{}
	done    chan struct{}
}

// raftServices are the gRPC services of the metadata node, which answer
// Unavailable until its Raft driver runs.
var raftServices = []string{"/puddlestore.kv.", "/puddlestore.meta."}

// StartServer starts a node: it opens its store and serves its port;
// with Meta it starts its Raft driver there; it joins the mesh (through
// Join, else the peers it saved and its Raft group's members) and starts
// the block service; a new voter joins the Raft group through Join; and
// the node registers in the metadata registry.
func StartServer(ctx context.Context, cfg ServerConfig) (_ *Server, err error) {
	switch {
	case cfg.Dir == "" || cfg.Listen == "":
		return nil, errors.New("node: Dir and Listen are required")
	case cfg.Bootstrap && cfg.Join != "":
		return nil, errors.New("node: Bootstrap and Join exclude each other")
	case cfg.Bootstrap && !cfg.Meta:
		return nil, errors.New("node: the node that bootstraps a cluster must be a metadata voter (Meta)")
	case !cfg.Bootstrap && cfg.Join == "":
		return nil, errors.New("node: give Bootstrap (a new cluster) or Join (the address of a metadata node)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	srv := &Server{dir: cfg.Dir, log: cfg.Logger}
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	var n *Node
	var ready atomic.Bool
	var deliver func(*Raft)
	sc := StorageConfig{
		Dir: cfg.Dir, Listen: cfg.Listen, Join: transport.Addr(cfg.Join),
		Overlay: cfg.Overlay, Blocks: cfg.Blocks, Logger: cfg.Logger,
	}
	haveRaft := cfg.Meta
	if haveRaft {
		if n, err = newNode(Config{DataDir: filepath.Join(cfg.Dir, "meta"), Meta: true, TickInterval: cfg.TickInterval}); err != nil {
			return nil, err
		}
		sc.Handle = func(mux *transport.Mux) { deliver = n.handleRaft(mux) }
		sc.Register = n.register
		sc.ServerOptions = []grpc.ServerOption{grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if !ready.Load() && hasAnyPrefix(info.FullMethod, raftServices) {
					return nil, status.Error(codes.Unavailable, "node: starting")
				}
				return h(ctx, req)
			})}
	}
	s, err := listenStorage(ctx, sc)
	if err != nil {
		if deliver != nil {
			deliver(nil)
		}
		return nil, err
	}
	srv.storage = s
	self := s.Addr()
	fresh := true
	if haveRaft {
		n.cfg.ID = RegistryID(s)
		n.tr = s.Transport()
		if fresh, err = isEmptyDir(n.cfg.DataDir); err != nil {
			deliver(nil)
			return nil, err
		}
		if cfg.Bootstrap && fresh {
			n.cfg.Bootstrap = true
			n.cfg.Members = []Member{{ID: n.cfg.ID, PeerAddr: string(self), ClientAddr: string(self)}}
		}
		if err := n.startRaft(n.tr, deliver, cfg.Logger.With("meta", n.cfg.ID)); err != nil {
			return nil, err
		}
		srv.meta = n
		ready.Store(true)
	}
	// Join the mesh: through Join; or, restarted without it (the node that
	// bootstrapped, say), through the peers it saved and the members of
	// its Raft group, which its log names.
	var joins []transport.Addr
	if cfg.Join != "" {
		joins = append(joins, transport.Addr(cfg.Join))
	} else if !cfg.Bootstrap || !fresh {
		joins = append(loadPeers(cfg.Dir), srv.raftPeers(ctx)...)
		if len(joins) == 0 {
			return nil, errors.New("node: restarted without Join, and knows no other node to join the mesh through")
		}
	}
	if len(joins) == 0 {
		joins = []transport.Addr{""} // the first node: a new mesh
	}
	for _, j := range joins {
		if err = s.join(ctx, j); err == nil || ctx.Err() != nil {
			break
		}
		cfg.Logger.Warn("could not join the mesh; trying the next known node", "via", j, "err", err)
	}
	if err != nil {
		return nil, err
	}
	if haveRaft && cfg.Join != "" && fresh {
		if err := joinGroup(ctx, cfg.Join, n.cfg.ID, string(self)); err != nil {
			return nil, err
		}
	}
	// Register in the registry, through this node when it is a voter
	// (its Meta service follows the leader), else through Join.
	roles := meta.RoleBlocks
	at := cfg.Join
	if haveRaft {
		roles |= meta.RoleMeta
		at = string(self)
	} else if at == "" {
		at = string(joins[0])
	}
	m, err := client.DialMeta(at)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if _, err := m.Apply(ctx, meta.SetNode(RegistryID(s), string(self), roles)); err != nil {
		return nil, fmt.Errorf("node: register in the metadata registry via %s: %w", at, err)
	}
	var known []string
	if nodes, err := m.Nodes(ctx); err == nil {
		for _, n := range nodes {
			known = append(known, n.Addr)
		}
	}
	srv.savePeers(known...)
	srv.stop, srv.done = make(chan struct{}), make(chan struct{})
	go srv.keepPeers()
	return srv, nil
}

// peersEvery is how often a node saves the peers it knows: often, since
// a node killed before its first save would not find the mesh again
// without --join (but for its Raft peers).
const peersEvery = 5 * time.Second

// raftPeers returns the addresses of the other members of the node's
// Raft group, once the driver has re-applied its log (which names them),
// waiting for that at most a few seconds.
func (s *Server) raftPeers(ctx context.Context) []transport.Addr {
	if s.meta == nil || s.meta.raft == nil {
		return nil
	}
	self := s.storage.Addr()
	var out []transport.Addr
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		out = out[:0]
		for _, a := range s.meta.raft.Peers() {
			if a != self && a != "" {
				out = append(out, a)
			}
		}
		st := s.meta.raft.Status()
		if len(out) > 0 && st.Applied >= st.Commit {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

func (s *Server) keepPeers() {
	defer close(s.done)
	t := time.NewTicker(peersEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.savePeers()
		}
	}
}

// peersFile lists, one per line, the addresses of the cluster's nodes as
// the registry knew them at this node's last start: where a restarted
// node that was given no Join looks for the mesh.
const peersFile = "peers"

func loadPeers(dir string) []transport.Addr {
	b, err := os.ReadFile(filepath.Join(dir, peersFile))
	if err != nil {
		return nil
	}
	var out []transport.Addr
	for _, l := range strings.Fields(string(b)) {
		out = append(out, transport.Addr(l))
	}
	return out
}

// savePeers writes peersFile: the metadata group's members first (they
// also serve the registry), then the overlay's neighbours and extra. A
// failure is logged, not fatal.
func (s *Server) savePeers(extra ...string) {
	self := string(s.storage.Addr())
	var addrs []string
	add := func(a string) {
		if a != "" && a != self && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if s.meta != nil && s.meta.raft != nil {
		for _, a := range s.meta.raft.Peers() {
			add(string(a))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	ns, _ := s.storage.Overlay().Neighbours(ctx)
	cancel()
	for _, n := range ns {
		add(string(n.Addr))
	}
	for _, a := range extra {
		add(a)
	}
	if len(addrs) == 0 {
		return // keep what an earlier save knew
	}
	if err := writeFileSynced(s.dir, peersFile, []byte(strings.Join(addrs, "\n")+"\n")); err != nil {
		s.log.Warn("could not save the known peers", "err", err)
	}
}

// Addr is the node's address.
func (s *Server) Addr() transport.Addr { return s.storage.Addr() }

// Storage is the node's storage part.
func (s *Server) Storage() *Storage { return s.storage }

// Meta is the node's metadata part, nil unless it is a voter.
func (s *Server) Meta() *Node { return s.meta }

// Close stops the metadata part, then the storage node (which closes the
// shared port).
func (s *Server) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.savePeers()
	}
	var errs []error
	if s.meta != nil && s.meta.raft != nil {
		errs = append(errs, s.meta.Close())
	}
	if s.storage != nil {
		errs = append(errs, s.storage.Close())
	}
	return errors.Join(errs...)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isEmptyDir reports whether dir is missing or empty: no Raft state yet.
func isEmptyDir(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	return err == nil && len(ents) == 0, err
}

// joinGroup adds this node to the metadata Raft group through the node at
// join: as a learner, then promoted once it has caught up (the leader
// refuses until then, and the client retries).
func joinGroup(ctx context.Context, join string, id uint64, self string) error {
	kc, err := kvclient.Dial(join)
	if err != nil {
		return err
	}
	defer kc.Close()
	if err := kc.AddMember(ctx, id, self, self); err != nil {
		return fmt.Errorf("node: join the metadata group via %s: add learner: %w", join, err)
	}
	if err := kc.PromoteMember(ctx, id); err != nil {
		return fmt.Errorf("node: join the metadata group via %s: promote: %w", join, err)
	}
	return nil
}
