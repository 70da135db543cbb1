package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/node"
)

func nodeCmd() *cobra.Command {
	var (
		cfg         node.ServerConfig
		joinTimeout time.Duration
		httpAddr    string
	)
	cmd := &cobra.Command{
		Use:   "node --data DIR --listen ADDR (--bootstrap | --join ADDR) [--meta]",
		Short: "Run one node of a PuddleStore cluster (one per machine)",
		Long: `node runs one PuddleStore node on one address: a storage node (blocks, the
Tapestry overlay) and, with --meta, a voter of the metadata Raft group.
The first node bootstraps the cluster and is a metadata voter; the others
join through any metadata node:

  puddle node --data /var/lib/puddle --listen 10.0.0.1:7000 --bootstrap --meta
  puddle node --data /var/lib/puddle --listen 10.0.0.2:7000 --join 10.0.0.1:7000 --meta
  puddle node --data /var/lib/puddle --listen 10.0.0.3:7000 --join 10.0.0.1:7000 --meta
  puddle node --data /var/lib/puddle --listen 10.0.0.4:7000 --join 10.0.0.1:7000

A joining metadata voter enters the Raft group as a learner and is promoted
once it has caught up. Three or five metadata voters tolerate one or two
failures. Restart a node with the same command: it finds its state (its
id, blocks and Raft log) in --data, and the cluster through --join or the
peers it saved. Clients use the metadata nodes' addresses
(PUDDLE_ADDR=10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000). Every node also
serves the web UI, the HTTP API and /metrics on port 8080 of its --listen
host (--http moves it; --http "" turns it off). SIGINT or SIGTERM stops
the node cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case cfg.Bootstrap == (cfg.Join != ""):
				return fmt.Errorf("%w: give --bootstrap (the first node of a new cluster) or --join ADDR (any metadata node), not both", errUsage)
			case cfg.Bootstrap && !cfg.Meta:
				return fmt.Errorf("%w: the node that bootstraps a cluster is a metadata voter: add --meta", errUsage)
			}
			if err := checkStorageFlags(cfg.Dir, cfg.Listen, cfg.Join, &cfg.Overlay, cfg.Blocks); err != nil {
				return err
			}
			cfg.Logger = logger(cmd)
			// The HTTP address is taken first, so that a taken one fails
			// before the node joins anything.
			var ln net.Listener
			if httpAddr == "auto" {
				host, _, _ := net.SplitHostPort(cfg.Listen) // checked above
				httpAddr = net.JoinHostPort(host, "8080")
			}
			if httpAddr != "" {
				var err error
				if ln, err = listenHTTP(httpAddr); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			startCtx, cancel := context.WithTimeout(ctx, joinTimeout)
			defer cancel()
			s, err := node.StartServer(startCtx, cfg)
			if err != nil {
				if ln != nil {
					ln.Close()
				}
				return overlayErr(err)
			}
			role := "storage"
			if cfg.Meta {
				role = "storage and metadata voter"
			}
			fmt.Printf("puddle node %s at %s: %s, R=%d\n", s.Storage().Overlay().Self().ID, s.Addr(), role, cfg.Blocks.Replicas)
			var web *httpServer
			if ln != nil {
				// The gateway's client reaches the metadata group through
				// this node if it is a voter, else through --join.
				var metaAddrs []string
				if cfg.Meta {
					metaAddrs = append(metaAddrs, string(s.Addr()))
				}
				if cfg.Join != "" {
					metaAddrs = append(metaAddrs, cfg.Join)
				}
				if web, err = serveHTTP(ln, metaAddrs, cfg.Logger); err != nil {
					s.Close()
					return err
				}
				fmt.Printf("web UI and HTTP API: %s (metrics at %smetrics)\n", web.URL(), web.URL())
			}
			select {
			case <-ctx.Done():
			case <-raftDone(s):
			}
			return errors.Join(web.Close(), s.Close())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "data", "", "data directory (blocks, id, Raft log)")
	f.StringVar(&cfg.Listen, "listen", "", "address to serve on, for peers and clients (host:port)")
	f.BoolVar(&cfg.Bootstrap, "bootstrap", false, "start a new cluster (the first node; needs --meta)")
	f.StringVar(&cfg.Join, "join", "", "address of any metadata node of the cluster to join")
	f.BoolVar(&cfg.Meta, "meta", false, "be a voter of the metadata Raft group")
	f.StringVar(&httpAddr, "http", "auto", `serve the web UI, HTTP API and /metrics here (host:port; "auto": --listen's host, port 8080; empty: none)`)
	f.DurationVar(&joinTimeout, "join-timeout", time.Minute, "give up starting after this long")
	f.DurationVar(&cfg.TickInterval, "raft-tick", 100*time.Millisecond, "length of one Raft tick")
	blocksFlags(f, &cfg.Blocks)
	overlayOptionsFlags(f, &cfg.Overlay)
	return cmd
}

// raftDone is closed when a metadata voter's Raft driver stops on its
// own (a storage failure); never for a storage-only node.
func raftDone(s *node.Server) <-chan struct{} {
	if s.Meta() == nil {
		return nil
	}
	return s.Meta().Raft().Done()
}
