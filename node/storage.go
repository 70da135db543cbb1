package node

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/grpcnet"
	"github.com/puddlestore/puddlestore/wal"
)

// StorageConfig assembles a storage node: a block store on disk, the
// overlay (Tapestry or Chord) and the block service, all on one gRPC port.
type StorageConfig struct {
	// Dir holds the node's block store (Dir/blocks) and its overlay id
	// (Dir/node-id, made on first start and kept, so that a restarted
	// node is the same holder of the same blocks).
	Dir string
	// Listen is the address to serve on ("host:port"; port 0 picks one).
	Listen string
	// Join is the address of any node of the mesh; empty starts a new one.
	Join transport.Addr
	// Overlay chooses the overlay and carries its tuning (Tick, the tick
	// counts, Salts or Successors, Seed); its ID, Transport, Mux, Join and
	// Logger are set here.
	Overlay overlay.Options
	// Blocks carries the block service's tuning (Replicas, WriteQuorum,
	// RepairInterval, CacheBytes, ...); Store, Overlay, Transport, Mux and
	// Logger are set here.
	Blocks blocks.Config
	// Latency delays outgoing messages (grpcnet.Config); nil adds none.
	Latency transport.LatencyModel
	// Register and ServerOptions add further services to the node's port
	// (grpcnet.Config), and Handle further message handlers to its Mux,
	// before it serves: a metadata voter shares the port.
	Register      func(*grpc.Server)
	ServerOptions []grpc.ServerOption
	Handle        func(*transport.Mux)
	Logger        *slog.Logger
}

// Storage is a running storage node.
type Storage struct {
	cfg   StorageConfig
	self  id.ID
	mux   *transport.Mux
	ovp   atomic.Pointer[overlay.Admin] // for the admin services
	svcp  atomic.Pointer[blocks.Service]
	tr    *grpcnet.Transport
	store *blockstore.Disk
	ov    overlay.Admin
	svc   *blocks.Service
}

// StartStorage opens the node's store, serves its port, joins (or starts)
// the mesh and starts the block service. The port answers from the start;
// its services answer Unavailable until the node has joined.
func StartStorage(ctx context.Context, cfg StorageConfig) (*Storage, error) {
	s, err := listenStorage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.join(ctx, cfg.Join); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// listenStorage opens the store and serves the port; join does the rest.
func listenStorage(ctx context.Context, cfg StorageConfig) (_ *Storage, err error) {
	if cfg.Dir == "" || cfg.Listen == "" {
		return nil, errors.New("node: storage: Dir and Listen are required")
	}
	if err := cfg.Overlay.Check(); err != nil {
		return nil, fmt.Errorf("node: storage: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Storage{cfg: cfg}
	if s.self, err = loadNodeID(cfg.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.store, err = blockstore.Open(filepath.Join(cfg.Dir, "blocks"), blockstore.Options{Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("node: storage: %w", err)
	}
	s.mux = transport.NewMux()
	if cfg.Handle != nil {
		cfg.Handle(s.mux)
	}
	s.tr, err = grpcnet.Listen(ctx, grpcnet.Config{
		Listen: cfg.Listen, Handler: s.mux.Deliver, Latency: cfg.Latency, Logger: cfg.Logger,
		ServerOptions: cfg.ServerOptions,
		Register: func(g *grpc.Server) {
			overlay.RegisterAdmin(g, func() overlay.Admin {
				if p := s.ovp.Load(); p != nil {
					return *p
				}
				return nil
			})
			blocks.RegisterAdmin(g, s.svcp.Load)
			if cfg.Register != nil {
				cfg.Register(g)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("node: storage: %w", err)
	}
	return s, nil
}

// join joins the mesh through the node at addr ("": start a new mesh)
// and starts the block service. After a failure it may be called again.
func (s *Storage) join(ctx context.Context, addr transport.Addr) error {
	cfg := s.cfg
	ov, err := overlay.Start(ctx, cfg.Overlay, s.self, s.tr, s.mux, addr, cfg.Logger)
	if err != nil {
		return fmt.Errorf("node: storage: %w", err)
	}
	bc := cfg.Blocks
	bc.Store, bc.Overlay, bc.Transport, bc.Mux, bc.Logger = s.store, ov, s.tr, s.mux, cfg.Logger
	svc, err := blocks.New(bc)
	if err != nil {
		ov.Close()
		return fmt.Errorf("node: storage: %w", err)
	}
	s.ov, s.svc = ov, svc
	s.ovp.Store(&ov)
	s.svcp.Store(svc)
	return nil
}

// Addr is the node's address.
func (s *Storage) Addr() transport.Addr { return s.tr.Addr() }

// Transport is the node's transport, shared by everything on its port.
func (s *Storage) Transport() *grpcnet.Transport { return s.tr }

// Overlay is the node's overlay.
func (s *Storage) Overlay() overlay.Admin { return s.ov }

// Blocks is the node's block service.
func (s *Storage) Blocks() *blocks.Service { return s.svc }

// Close stops the block service, leaves the mesh gracefully, and closes
// the port and the store, in that order.
func (s *Storage) Close() error {
	var errs []error
	if s.svc != nil {
		errs = append(errs, s.svc.Close())
	}
	if s.ov != nil {
		errs = append(errs, s.ov.Close())
	}
	if s.tr != nil {
		errs = append(errs, s.tr.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	return errors.Join(errs...)
}

// nodeIDFile keeps a storage node's overlay id across restarts.
const nodeIDFile = "node-id"

// loadNodeID returns the id kept in dir, making and syncing a random one
// on first start.
func loadNodeID(dir string) (id.ID, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return id.ID{}, fmt.Errorf("node: storage: %w", err)
	}
	path := filepath.Join(dir, nodeIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		x, perr := id.Parse(strings.TrimSpace(string(b)))
		if perr != nil || x == (id.ID{}) {
			return id.ID{}, fmt.Errorf("node: storage: %s holds no node id (%q): remove it to make a new one", path, b)
		}
		return x, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return id.ID{}, fmt.Errorf("node: storage: %w", err)
	}
	var x id.ID
	for x == (id.ID{}) {
		_, _ = crand.Read(x[:]) // never fails (Go 1.24+)
	}
	err = writeFileSynced(dir, nodeIDFile, []byte(x.String()+"\n"))
	if err != nil {
		return x, fmt.Errorf("node: storage: keep node id: %w", err)
	}
	return x, nil
}

// writeFileSynced writes dir/name whole or not at all: write a temporary
// file, sync it, rename it into place, sync the directory.
func writeFileSynced(dir, name string, data []byte) error {
	fs, path := wal.OSFS{}, filepath.Join(dir, name)
	tmp := path + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err == nil {
		err = fs.SyncDir(dir)
	}
	return err
}
