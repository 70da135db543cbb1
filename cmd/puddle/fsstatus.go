package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/puddlestore/puddlestore/client"
)

// printClusterStatus prints the metadata nodes' Raft state and, for a file
// system cluster, the storage nodes the registry names with their blocks
// and replication counters (a key-value cluster has no registry).
func printClusterStatus(st client.ClusterStatus) {
	fmt.Printf("%-22s %4s %-10s %6s %8s %8s %8s %8s\n", "ADDRESS", "ID", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "SNAP")
	for _, n := range st.Meta {
		if n.Err != "" {
			fmt.Printf("%-22s unreachable: %v\n", n.Addr, n.Err)
			continue
		}
		fmt.Printf("%-22s %4x %-10s %6d %8x %8d %8d %8d\n", n.Addr, n.ID, n.Role, n.Term, n.Leader, n.Commit, n.Applied, n.Snapshot)
	}
	if !st.Registry || len(st.Storage) == 0 {
		return
	}
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STORAGE NODE\tOVERLAY\tOVERLAY ID\tBLOCKS\tBYTES\tUNDER-REPLICATED\tREPAIRS\tVERIFY FAILURES")
	for _, n := range st.Storage {
		if n.Err != "" {
			fmt.Fprintf(w, "%s\tunreachable: %v\n", n.Addr, n.Err)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\n", n.Addr, n.Overlay, n.ID.Short(12), n.Blocks, humanBytes(n.Bytes),
			n.UnderReplicated, n.Repairs, n.VerifyFailures)
	}
	w.Flush()
	if under := st.UnderReplicated(); under == 0 {
		fmt.Println("replication: every block the last repair passes checked has its copies")
	} else {
		fmt.Printf("replication: %d blocks under-replicated as of the last repair passes\n", under)
	}
}
