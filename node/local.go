package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/raft"
	"github.com/puddlestore/puddlestore/transport"
)

// LocalConfig describes a whole cluster in one process, on loopback, with
// real gRPC between its nodes: what `puddle dev` runs and end-to-end
// tests use.
type LocalConfig struct {
	// Dir holds every node's data, kept across restarts: meta1, meta2, ...
	// and store1, store2, ...
	Dir string
	// MetaVoters is the size of the metadata Raft group (default 3).
	MetaVoters int
	// StorageNodes is the number of storage nodes (default 5).
	StorageNodes int
	// BasePort fixes the ports, so that a restarted cluster is found at the
	// same addresses: metadata client ports BasePort+1.., their peer ports
	// BasePort+101.., storage nodes BasePort+201... 0 picks free ports.
	BasePort int
	// Raft's TickInterval (default 100ms) and the overlay's and block
	// service's tuning; their addresses and stores are set here.
	TickInterval time.Duration
	Overlay      overlay.Options
	Blocks       blocks.Config
	Logger       *slog.Logger
}

// Local is a running local cluster.
type Local struct {
	Meta    []*Node
	Storage []*Storage
}

// StartLocal starts the metadata group, waits for its leader, starts the
// storage nodes (each joining the first) and registers them in the
// metadata registry, where clients find them.
func StartLocal(ctx context.Context, cfg LocalConfig) (_ *Local, err error) {
	if cfg.MetaVoters <= 0 {
		cfg.MetaVoters = 3
	}
	if cfg.StorageNodes <= 0 {
		cfg.StorageNodes = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	addr := func(offset int) (string, error) {
		if cfg.BasePort != 0 {
			return fmt.Sprintf("127.0.0.1:%d", cfg.BasePort+offset), nil
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer l.Close()
		return l.Addr().String(), nil
	}
	l := &Local{}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	var members []Member
	for i := 1; i <= cfg.MetaVoters; i++ {
		m := Member{ID: uint64(i)}
		if m.ClientAddr, err = addr(i); err != nil {
			return nil, err
		}
		if m.PeerAddr, err = addr(100 + i); err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	for _, m := range members {
		n, err := Start(ctx, Config{
			ID: m.ID, DataDir: filepath.Join(cfg.Dir, fmt.Sprintf("meta%d", m.ID)), Members: members,
			Bootstrap: true, Meta: true, TickInterval: cfg.TickInterval, Logger: cfg.Logger.With("meta", m.ID),
		})
		if err != nil {
			return nil, fmt.Errorf("node: start metadata node %d: %w", m.ID, err)
		}
		l.Meta = append(l.Meta, n)
	}
	for i := 1; i <= cfg.StorageNodes; i++ {
		listen := "127.0.0.1:0" // no need to know it before it binds
		if cfg.BasePort != 0 {
			listen = fmt.Sprintf("127.0.0.1:%d", cfg.BasePort+200+i)
		}
		sc := StorageConfig{
			Dir: filepath.Join(cfg.Dir, fmt.Sprintf("store%d", i)), Listen: listen,
			Overlay: cfg.Overlay, Blocks: cfg.Blocks, Logger: cfg.Logger.With("store", i),
		}
		if i > 1 {
			sc.Join = l.Storage[0].Addr()
		}
		s, err := StartStorage(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("node: start storage node %d: %w", i, err)
		}
		l.Storage = append(l.Storage, s)
	}
	for _, s := range l.Storage {
		if err := l.register(ctx, s); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// RegistryID is a storage node's id in the metadata registry: the first
// 64 bits of its overlay id, so that it is the same across restarts.
func RegistryID(s *Storage) uint64 {
	return binary.BigEndian.Uint64(s.self[:8])
}

// register records s in the metadata registry (on the leader, retried
// while there is none).
func (l *Local) register(ctx context.Context, s *Storage) error {
	c := meta.SetNode(RegistryID(s), string(s.Addr()), meta.RoleBlocks)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, n := range l.Meta {
			if st := n.Raft().Status(); st.State != raft.StateLeader {
				continue
			}
			c.Time = time.Now().UnixNano()
			if _, _, err := n.Raft().Propose(ctx, c.Encode()); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: register storage node %s: %w", s.Addr(), ctx.Err())
		case <-tick.C:
		}
	}
}

// MetaAddrs returns the metadata nodes' client addresses.
func (l *Local) MetaAddrs() []string {
	out := make([]string, len(l.Meta))
	for i, n := range l.Meta {
		out[i] = n.ClientAddr()
	}
	return out
}

// StorageAddrs returns the storage nodes' addresses.
func (l *Local) StorageAddrs() []transport.Addr {
	out := make([]transport.Addr, len(l.Storage))
	for i, s := range l.Storage {
		out[i] = s.Addr()
	}
	return out
}

// Close stops the storage nodes, then the metadata nodes.
func (l *Local) Close() error {
	var errs []error
	for _, s := range l.Storage {
		errs = append(errs, s.Close())
	}
	for _, n := range l.Meta {
		errs = append(errs, n.Close())
	}
	return errors.Join(errs...)
}
