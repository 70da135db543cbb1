package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

func devCmd() *cobra.Command {
	var (
		storage, voters, basePort, replicas int
		dataDir, overlayName, httpAddr      string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole cluster on this machine, on loopback, until Ctrl-C",
		Long: `dev runs a whole PuddleStore cluster in one process, with real gRPC between
its nodes and its data kept in --data across restarts: a metadata Raft
group of 3 voters and --nodes storage nodes on a Tapestry overlay, every
block kept on --replicas of them. From another terminal:

  puddle put notes.txt /notes.txt
  puddle ls -l /
  puddle cat /notes.txt
  puddle history /notes.txt
  puddle status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case storage < 1 || storage > 99:
				return fmt.Errorf("%w: --nodes must be 1..99", errUsage)
			case voters < 1 || voters > 9:
				return fmt.Errorf("%w: --meta-voters must be 1..9", errUsage)
			case replicas < 1:
				return fmt.Errorf("%w: --replicas must be at least 1", errUsage)
			case !slices.Contains(overlay.Kinds, overlayName):
				return fmt.Errorf("%w: --overlay must be %s", errUsage, strings.Join(overlay.Kinds, " or "))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			startCtx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			var ln net.Listener
			if httpAddr != "" {
				var err error
				if ln, err = listenHTTP(httpAddr); err != nil {
					return err
				}
			}
			l, err := node.StartLocal(startCtx, node.LocalConfig{
				Dir: dataDir, MetaVoters: voters, StorageNodes: storage, BasePort: basePort,
				Blocks: blocks.Config{Replicas: replicas}, Overlay: overlay.Options{Kind: overlayName}, Logger: logger(cmd),
			})
			if err != nil {
				if ln != nil {
					ln.Close()
				}
				return err
			}
			var web *httpServer
			if ln != nil {
				if web, err = serveHTTP(ln, l.MetaAddrs(), logger(cmd)); err != nil {
					l.Close()
					return err
				}
			}
			addrs := strings.Join(l.MetaAddrs(), ",")
			fmt.Printf("PuddleStore dev cluster: %d metadata voters (Raft), %d storage nodes (%s, R=%d), data in %s\n",
				voters, storage, overlayName, replicas, dataDir)
			fmt.Printf("Cluster address: %s\n", addrs)
			if addrs != defaultAddrs {
				fmt.Printf("  export PUDDLE_ADDR=%s\n", addrs)
			}
			if web != nil {
				fmt.Printf("Web UI and HTTP API: %s (metrics at %smetrics)\n", web.URL(), web.URL())
			}
			fmt.Println("Try:  go run ./cmd/puddle put README.md /README.md && go run ./cmd/puddle ls -l /")
			fmt.Println("Ctrl-C to stop.")
			<-ctx.Done()
			fmt.Println("\nShutting down...")
			return errors.Join(web.Close(), l.Close())
		},
	}
	f := cmd.Flags()
	f.IntVar(&storage, "nodes", 5, "number of storage nodes")
	f.IntVar(&voters, "meta-voters", 3, "number of metadata Raft voters")
	f.IntVar(&replicas, "replicas", 3, "copies of every block (R)")
	f.StringVar(&overlayName, "overlay", "tapestry", "overlay that places blocks: "+strings.Join(overlay.Kinds, " or "))
	f.StringVar(&dataDir, "data", "./puddle-data", "data directory (kept across restarts)")
	f.StringVar(&httpAddr, "http", "127.0.0.1:8080", "address of the web UI, HTTP API and /metrics (empty: none)")
	f.IntVar(&basePort, "port", 7000, "metadata client ports are port+1.., their peer ports port+101.., storage nodes port+201..")
	return cmd
}
