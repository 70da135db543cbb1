package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

func blocksNodeCmd() *cobra.Command {
	var (
		cfg         node.StorageConfig
		join        string
		joinTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "node --data DIR --listen ADDR [--join ADDR]",
		Short: "Run one storage node (block store, Tapestry, block service) until interrupted",
		Long: `node runs one storage node: a block store in DIR, a Tapestry overlay node
and the block service, all on --listen. The first node starts a new mesh;
the others join it through any of its nodes:

  puddle blocks node --data d1 --listen 127.0.0.1:7401
  puddle blocks node --data d2 --listen 127.0.0.1:7402 --join 127.0.0.1:7401

Every block is kept on --replicas nodes, the ones the overlay names for
its key; a put is acknowledged once --write-quorum of them hold it
durably. Each node runs a repair pass every --repair-interval: it
re-verifies its blocks, copies those whose holders are gone to their new
holders, and republishes. The node keeps its overlay id in DIR, so a
restarted node holds the same blocks. It prints its id and address once
it is part of the mesh, and leaves gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkStorageFlags(cfg.Dir, cfg.Listen, join, &cfg.Overlay, cfg.Blocks); err != nil {
				return err
			}
			cfg.Join, cfg.Logger = transport.Addr(join), logger(cmd)

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			startCtx, cancel := context.WithTimeout(ctx, joinTimeout)
			defer cancel()
			n, err := node.StartStorage(startCtx, cfg)
			if err != nil {
				return overlayErr(err)
			}
			how := "started a new mesh"
			if join != "" {
				how = "joined via " + join
			}
			self := n.Overlay().Self()
			fmt.Printf("storage node %s at %s: %s, R=%d\n", self.ID, self.Addr, how, cfg.Blocks.Replicas)
			<-ctx.Done()
			return n.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "data", "", "data directory (blocks and the node's id)")
	f.StringVar(&cfg.Listen, "listen", "", "address to serve on (host:port)")
	f.StringVar(&join, "join", "", "address of any node of the mesh to join (default: start a new mesh)")
	f.DurationVar(&joinTimeout, "join-timeout", 30*time.Second, "give up joining after this long")
	blocksFlags(f, &cfg.Blocks)
	overlayOptionsFlags(f, &cfg.Overlay)
	return cmd
}

// blocksFlags adds the flags that tune a node's block service.
func blocksFlags(f *pflag.FlagSet, b *blocks.Config) {
	f.IntVar(&b.Replicas, "replicas", 3, "copies of every block (R)")
	f.IntVar(&b.WriteQuorum, "write-quorum", 0, "copies durable before a block put is acknowledged (W; 0: R)")
	f.DurationVar(&b.RepairInterval, "repair-interval", time.Minute, "time between repair passes (negative: none)")
	f.Int64Var(&b.CacheBytes, "cache-bytes", 64<<20, "budget of the cache of blocks read from other nodes (negative: none)")
}

// checkStorageFlags checks the flags of a command that runs a storage
// node.
func checkStorageFlags(dir, listen, join string, ov *overlay.Options, b blocks.Config) error {
	if dir == "" || listen == "" {
		return fmt.Errorf("%w: --data and --listen are required", errUsage)
	}
	if err := checkHostPort(listen, "--listen"); err != nil {
		return err
	}
	if join != "" {
		if err := checkHostPort(join, "--join"); err != nil {
			return err
		}
	}
	if err := finishOverlayFlags(ov, b.Replicas); err != nil {
		return err
	}
	if b.Replicas < 1 || b.WriteQuorum < 0 || b.WriteQuorum > b.Replicas {
		return fmt.Errorf("%w: want --replicas >= 1 and 0 <= --write-quorum <= --replicas", errUsage)
	}
	if b.RepairInterval == 0 {
		return fmt.Errorf("%w: --repair-interval must not be 0 (negative: never)", errUsage)
	}
	return nil
}
