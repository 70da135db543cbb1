package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/node"
)

func kvNodeCmd() *cobra.Command {
	var (
		id        uint64
		dataDir   string
		cluster   string
		bootstrap bool
		leaseRead bool
		snapEvery uint64
	)
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run one node of a key-value cluster (Raft alone, no file system)",
		Long: `node runs one node of a replicated key-value store: our Raft on its own, as
the Raft benchmark against etcd uses it. Every node of a new cluster is
started with the same --cluster list and --bootstrap; a node restarted
later finds its state in --data and ignores --bootstrap.

  puddle kv node --id 1 --data /var/lib/puddle --bootstrap \
    --cluster 1=10.0.0.1:7101/10.0.0.1:7001,2=10.0.0.2:7101/10.0.0.2:7001,3=10.0.0.3:7101/10.0.0.3:7001

Each member is ID=PEER_ADDR/CLIENT_ADDR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			members, err := parseCluster(cluster)
			if err != nil {
				return err
			}
			if dataDir == "" || id == 0 {
				return fmt.Errorf("%w: --id and --data are required", errUsage)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := node.Start(ctx, node.Config{
				ID: id, DataDir: dataDir, Members: members, Bootstrap: bootstrap,
				LeaseReads: leaseRead, SnapshotEntries: snapEvery, Logger: logger(cmd),
			})
			if err != nil {
				return err
			}
			fmt.Printf("node %d: peers on %s, clients on %s\n", id, n.PeerAddr(), n.ClientAddr())
			select {
			case <-ctx.Done():
			case <-n.Raft().Done():
			}
			if err := n.Close(); err != nil {
				return fmt.Errorf("node %d stopped: %w", id, err)
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&id, "id", 0, "this node's id (non-zero, unique in the cluster)")
	cmd.Flags().StringVar(&dataDir, "data", "", "data directory")
	cmd.Flags().StringVar(&cluster, "cluster", "", "members: ID=PEER_ADDR/CLIENT_ADDR,...")
	cmd.Flags().BoolVar(&bootstrap, "bootstrap", false, "start a new cluster from --cluster if --data is empty")
	cmd.Flags().Uint64Var(&snapEvery, "snapshot-entries", 0, "snapshot the state after this many applied entries (0: 100000)")
	cmd.Flags().BoolVar(&leaseRead, "lease-reads", false, "serve linearizable reads from the leader's lease (assumes bounded clock drift)")
	return cmd
}

// parseCluster reads ID=PEER/CLIENT,...
func parseCluster(s string) ([]node.Member, error) {
	var out []node.Member
	seen := map[uint64]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idStr, addrs, ok := strings.Cut(part, "=")
		peer, client, ok2 := strings.Cut(addrs, "/")
		id, err := strconv.ParseUint(idStr, 10, 64)
		if !ok || !ok2 || err != nil || id == 0 || peer == "" || client == "" {
			return nil, fmt.Errorf("%w: bad member %q (want ID=PEER_ADDR/CLIENT_ADDR)", errUsage, part)
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: member %d listed twice", errUsage, id)
		}
		seen[id] = true
		out = append(out, node.Member{ID: id, PeerAddr: peer, ClientAddr: client})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --cluster is required", errUsage)
	}
	return out, nil
}
