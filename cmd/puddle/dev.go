package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/node"
)

func devCmd() *cobra.Command {
	var (
		nodes    int
		dataDir  string
		basePort int
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole cluster on this machine, on loopback, until Ctrl-C",
		Long: `dev runs a local cluster in one process, with real gRPC between its nodes and
its data kept in --data across restarts.

Until the file system lands, the cluster is a 3-voter Raft group serving a
small replicated key-value store: use "puddle kv put KEY VALUE" and
"puddle kv get KEY" from another terminal, and "puddle status".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 || nodes > 9 {
				return fmt.Errorf("%w: --nodes must be 1..9", errUsage)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var members []node.Member
			for i := 1; i <= nodes; i++ {
				members = append(members, node.Member{
					ID:         uint64(i),
					PeerAddr:   fmt.Sprintf("127.0.0.1:%d", basePort+100+i),
					ClientAddr: fmt.Sprintf("127.0.0.1:%d", basePort+i),
				})
			}
			log := logger(cmd)
			var running []*node.Node
			defer func() {
				for _, n := range running {
					_ = n.Close()
				}
			}()
			for _, m := range members {
				n, err := node.Start(ctx, node.Config{
					ID:        m.ID,
					DataDir:   filepath.Join(dataDir, fmt.Sprintf("node%d", m.ID)),
					Members:   members,
					Bootstrap: true,
					Logger:    log,
				})
				if err != nil {
					return fmt.Errorf("start node %d: %w", m.ID, err)
				}
				running = append(running, n)
			}
			var addrs []string
			for _, n := range running {
				addrs = append(addrs, n.ClientAddr())
			}
			fmt.Printf("PuddleStore dev cluster: %d Raft voters on loopback, data in %s\n", nodes, dataDir)
			fmt.Println("The file system is not built yet: this cluster serves a replicated key-value store.")
			fmt.Printf("Client addresses: %s\n", strings.Join(addrs, ","))
			if strings.Join(addrs, ",") != defaultAddrs {
				fmt.Printf("  export PUDDLE_ADDR=%s\n", strings.Join(addrs, ","))
			}
			fmt.Println("Try:  go run ./cmd/puddle kv put hello world && go run ./cmd/puddle kv get hello")
			fmt.Println("      go run ./cmd/puddle status")
			if err := waitLeader(ctx, running); err == nil {
				st := leaderStatus(running)
				fmt.Printf("Leader elected: node %d at term %d. Ctrl-C to stop.\n", st.ID, st.Term)
			}
			<-ctx.Done()
			fmt.Println("\nShutting down...")
			return nil
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 3, "number of Raft voters")
	cmd.Flags().StringVar(&dataDir, "data", "./puddle-data", "data directory (kept across restarts)")
	cmd.Flags().IntVar(&basePort, "port", 7000, "client ports are port+1..port+N, peer ports port+101..")
	return cmd
}

func waitLeader(ctx context.Context, nodes []*node.Node) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for _, n := range nodes {
			if st := n.Raft().Status(); st.Lead != 0 && st.Lead == st.ID {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func leaderStatus(nodes []*node.Node) (st struct{ ID, Term uint64 }) {
	for _, n := range nodes {
		if s := n.Raft().Status(); s.Lead == s.ID {
			st.ID, st.Term = s.ID, s.Term
		}
	}
	return st
}
