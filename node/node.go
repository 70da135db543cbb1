package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node/kvpb"
	"github.com/puddlestore/puddlestore/node/metapb"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/grpcnet"
)

// Member names one node of a cluster: its Raft id and two addresses, one
// for peers (Raft traffic) and one for clients, as etcd separates them.
type Member struct {
	ID         uint64
	PeerAddr   string
	ClientAddr string
}

// Config assembles one node process.
type Config struct {
	// ID of this node; must be one of Members.
	ID uint64
	// DataDir holds this node's durable state.
	DataDir string
	// Members of the cluster (for a new cluster: all of them).
	Members []Member
	// Bootstrap a new cluster from Members when DataDir is empty.
	Bootstrap bool
	// PeerListen and ClientListen override the listen addresses (default:
	// this member's PeerAddr and ClientAddr).
	PeerListen, ClientListen string
	// TickInterval, ElectionTicks, HeartbeatTicks: see RaftConfig.
	TickInterval                  time.Duration
	ElectionTicks, HeartbeatTicks int
	// SnapshotEntries: see RaftConfig.
	SnapshotEntries uint64
	// LeaseReads: see RaftConfig.
	LeaseReads bool
	// Latency adds per-peer delay on the peer transport (locality on
	// loopback); nil adds none.
	Latency transport.LatencyModel
	// Meta makes the Raft group replicate the file system's metadata
	// (meta.State, served as node/metapb's Meta service) instead of the
	// key-value store. Every member of a group must agree.
	Meta   bool
	Logger *slog.Logger
}

// Node is one running PuddleStore node: for now a Raft group member serving
// the key-value front.
type Node struct {
	cfg     Config
	tr      *grpcnet.Transport
	raft    *Raft
	ownTr   bool        // Start made tr, so Close closes it
	kv      *KV         // nil with Config.Meta
	meta    *meta.State // nil without Config.Meta
	grpcSrv *grpc.Server
	lis     net.Listener
	wg      sync.WaitGroup

	clientAddrs map[uint64]string
	closeOnce   sync.Once
	closeErr    error
}

// Start starts a node.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	var self *Member
	for i := range cfg.Members {
		if cfg.Members[i].ID == cfg.ID {
			self = &cfg.Members[i]
		}
	}
	if self == nil {
		return nil, fmt.Errorf("node: id %d is not among the members", cfg.ID)
	}
	if cfg.PeerListen == "" {
		cfg.PeerListen = self.PeerAddr
	}
	if cfg.ClientListen == "" {
		cfg.ClientListen = self.ClientAddr
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n, err := newNode(cfg)
	if err != nil {
		return nil, err
	}
	mux := transport.NewMux()
	deliver := n.handleRaft(mux)
	tr, err := grpcnet.Listen(ctx, grpcnet.Config{Listen: cfg.PeerListen, Handler: mux.Deliver, Latency: cfg.Latency, Logger: logger})
	if err != nil {
		deliver(nil)
		return nil, fmt.Errorf("node: peer listener: %w", err)
	}
	n.tr, n.ownTr = tr, true
	if err := n.startRaft(tr, deliver, logger); err != nil {
		tr.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.ClientListen)
	if err != nil {
		n.raft.Close()
		tr.Close()
		return nil, fmt.Errorf("node: client listener: %w", err)
	}
	n.lis = lis
	n.clientAddrs[cfg.ID] = lis.Addr().String()
	n.grpcSrv = grpc.NewServer()
	n.register(n.grpcSrv)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		_ = n.grpcSrv.Serve(lis)
	}()
	return n, nil
}

// newNode makes a Node and its state machine, and starts nothing.
func newNode(cfg Config) (*Node, error) {
	n := &Node{cfg: cfg, clientAddrs: map[uint64]string{}}
	if cfg.Meta {
		st, err := meta.New(meta.Config{})
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		n.meta = st
	} else {
		n.kv = NewKV()
	}
	for _, m := range cfg.Members {
		n.clientAddrs[m.ID] = m.ClientAddr
	}
	return n, nil
}

// handleRaft installs the Raft message handler on mux, before the Raft
// driver exists; the returned func hands it the driver (nil: there will
// be none). Until then messages are dropped, as the network might have:
// Raft sends again. (Waiting instead would hold the transport's handler,
// and a Close that waits for handlers, forever if no driver comes.)
func (n *Node) handleRaft(mux *transport.Mux) func(*Raft) {
	var r atomic.Pointer[Raft]
	mux.Handle(transport.ServiceRaft, func(from transport.Addr, p []byte) {
		if x := r.Load(); x != nil {
			x.Deliver(from, p)
		}
	})
	return func(x *Raft) { r.Store(x) }
}

// startRaft starts n's Raft driver over tr and hands it to deliver.
func (n *Node) startRaft(tr transport.Transport, deliver func(*Raft), logger *slog.Logger) error {
	cfg := n.cfg
	peers := map[uint64]transport.Addr{}
	for _, m := range cfg.Members {
		peers[m.ID] = transport.Addr(m.PeerAddr)
	}
	peers[cfg.ID] = tr.Addr()
	var sm StateMachine = n.kv
	if n.meta != nil {
		sm = n.meta
	}
	r, err := StartRaft(RaftConfig{
		ID:              cfg.ID,
		Dir:             filepath.Join(cfg.DataDir, "raft"),
		Peers:           peers,
		Bootstrap:       cfg.Bootstrap,
		Transport:       tr,
		SM:              sm,
		TickInterval:    cfg.TickInterval,
		ElectionTicks:   cfg.ElectionTicks,
		HeartbeatTicks:  cfg.HeartbeatTicks,
		SnapshotEntries: cfg.SnapshotEntries,
		LeaseReads:      cfg.LeaseReads,
		Logger:          logger.With("node", cfg.ID),
	})
	deliver(r)
	if err != nil {
		return err
	}
	n.raft = r
	return nil
}

// register adds n's client services to s: KV (with Config.Meta, Status
// only), Cluster (membership), and with Config.Meta the Meta service.
func (n *Node) register(s *grpc.Server) {
	kvpb.RegisterKVServer(s, &kvServer{n: n})
	kvpb.RegisterClusterServer(s, &clusterServer{n: n})
	if n.cfg.Meta {
		metapb.RegisterMetaServer(s, &metaServer{n: n})
	}
}

// ClientAddr is where clients reach this node.
func (n *Node) ClientAddr() string {
	if n.lis == nil {
		return string(n.tr.Addr()) // one port for peers and clients
	}
	return n.lis.Addr().String()
}

// PeerAddr is where peers reach this node.
func (n *Node) PeerAddr() string { return string(n.tr.Addr()) }

// Raft returns the node's Raft driver.
func (n *Node) Raft() *Raft { return n.raft }

// KV returns the node's key-value state machine (nil with Config.Meta).
func (n *Node) KV() *KV { return n.kv }

// Meta returns the node's metadata state machine (nil without
// Config.Meta).
func (n *Node) Meta() *meta.State { return n.meta }

func (n *Node) clientAddrOf(id uint64) string {
	if a := n.raft.ClientAddr(id); a != "" {
		return a
	}
	if a, ok := n.clientAddrs[id]; ok || n.lis != nil {
		return a
	}
	return string(n.raft.Peers()[id]) // one port for peers and clients
}

// Close stops the node: clients first, then Raft, then the transport.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		if n.grpcSrv != nil {
			stopped := make(chan struct{})
			go func() { n.grpcSrv.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(2 * time.Second):
				n.grpcSrv.Stop()
				<-stopped
			}
		}
		n.wg.Wait()
		n.closeErr = n.raft.Close()
		if n.ownTr {
			n.closeErr = errors.Join(n.closeErr, n.tr.Close())
		}
	})
	return n.closeErr
}
