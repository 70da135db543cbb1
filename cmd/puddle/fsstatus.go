package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

// storageStatus prints the storage nodes a file system cluster has
// registered, with each one's blocks and replication counters. A
// key-value cluster has no registry; then it prints nothing.
func storageStatus(ctx context.Context, addrs []string) error {
	m, err := client.DialMeta(addrs...)
	if err != nil {
		return err
	}
	defer m.Close()
	nctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	nodes, err := m.Nodes(nctx)
	cancel()
	if err != nil {
		return nil // not a file system cluster, or no leader: the table above says which
	}
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STORAGE NODE\tOVERLAY ID\tBLOCKS\tBYTES\tUNDER-REPLICATED\tREPAIRS\tVERIFY FAILURES")
	var under int64
	for _, n := range nodes {
		if n.Roles&meta.RoleBlocks == 0 {
			continue
		}
		r, err := blocks.Dial(n.Addr)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := r.Status(sctx)
		cancel()
		r.Close()
		if err != nil {
			fmt.Fprintf(w, "%s\tunreachable: %v\n", n.Addr, err)
			continue
		}
		under += int64(st.UnderReplicated)
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%d\t%d\n", n.Addr, st.Self.ID.Short(12), st.Blocks, humanBytes(st.Bytes),
			st.UnderReplicated, st.Repairs, st.VerifyFailures)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if under == 0 {
		fmt.Println("replication: every block the last repair passes checked has its copies")
	} else {
		fmt.Printf("replication: %d blocks under-replicated as of the last repair passes\n", under)
	}
	return nil
}
