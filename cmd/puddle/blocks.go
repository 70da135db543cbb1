package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/node/kvclient"
)

func blocksCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blocks",
		Short: "Run a storage node, or put, get and inspect blocks through one",
		Long: `blocks runs and inspects the block layer on its own (the file system stores
file contents in it). Start nodes with "blocks node"; the other commands ask
a running node, named by --node, through its block service.

REF is a block's ref: 64 hex digits, the SHA-256 of its bytes.`,
	}
	cmd.AddCommand(blocksNodeCmd(), blocksPutCmd(), blocksGetCmd(), blocksWhereCmd(), blocksStatusCmd(), blocksRepairCmd(), blocksDrainCmd())
	return cmd
}

// withBlocks dials the node named by --node and runs f with a context
// bounded by --timeout.
func withBlocks(cmd *cobra.Command, f func(ctx context.Context, r *blocks.Remote) error) error {
	addr, _ := cmd.Flags().GetString("node")
	if addr == "" {
		return fmt.Errorf("%w: --node is required", errUsage)
	}
	if err := checkHostPort(addr, "--node"); err != nil {
		return err
	}
	r, err := blocks.Dial(addr)
	if err != nil {
		return blocksErr(err)
	}
	defer r.Close()
	to, _ := cmd.Flags().GetDuration("timeout")
	ctx, cancel := context.WithTimeout(cmd.Context(), to)
	defer cancel()
	return blocksErr(f(ctx, r))
}

// blocksErr maps the block layer's errors to the CLI's exit codes: not
// found 3, unavailable 4, bad input 2.
func blocksErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, blocks.ErrNotFound):
		return exitAs{err, errNotFound}
	case errors.Is(err, blocks.ErrUnavailable), errors.Is(err, blocks.ErrClosed):
		return exitAs{err, kvclient.ErrUnavailable}
	case errors.Is(err, blocks.ErrInvalid):
		return exitAs{err, errUsage}
	}
	return err
}

// blocksCommand is a subcommand that asks the node named by --node.
func blocksCommand(use, short, long string, args cobra.PositionalArgs, run func(ctx context.Context, cmd *cobra.Command, r *blocks.Remote, args []string) error) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBlocks(cmd, func(ctx context.Context, r *blocks.Remote) error { return run(ctx, cmd, r, args) })
		},
	}
	cmd.Flags().String("node", "", "address of the node to ask (host:port)")
	cmd.Flags().Duration("timeout", 30*time.Second, "give up after this long")
	return cmd
}

func parseRef(s string) (blockstore.Ref, error) {
	var ref blockstore.Ref
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(ref) {
		return ref, fmt.Errorf("%w: REF must be 64 hex digits, not %q", errUsage, s)
	}
	copy(ref[:], b)
	return ref, nil
}

func blocksPutCmd() *cobra.Command {
	return blocksCommand("put --node ADDR [FILE]", "Store FILE (or stdin) as one block and print its ref",
		`put stores the bytes of FILE, or of stdin when FILE is "-" or absent, as one
block (at most 16 MiB), and prints its ref once the write quorum of its
holders has it durably.`,
		cobra.MaximumNArgs(1),
		func(ctx context.Context, _ *cobra.Command, r *blocks.Remote, args []string) error {
			in := io.Reader(os.Stdin)
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			data, err := io.ReadAll(io.LimitReader(in, blockstore.MaxBlockSize+1))
			if err != nil {
				return err
			}
			if len(data) > blockstore.MaxBlockSize {
				return fmt.Errorf("%w: a block is at most %d bytes", errUsage, blockstore.MaxBlockSize)
			}
			ref, err := r.Put(ctx, data)
			if err != nil {
				return err
			}
			fmt.Println(ref)
			return nil
		})
}

func blocksGetCmd() *cobra.Command {
	cmd := blocksCommand("get --node ADDR REF", "Write a block (or a range of it) to stdout or --output",
		`get reads the block REF through the node (from the nearest holder; every
byte verified) and writes it to stdout, or to --output. --offset and
--length select a range.`,
		cobra.ExactArgs(1),
		func(ctx context.Context, cmd *cobra.Command, r *blocks.Remote, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			off, _ := cmd.Flags().GetInt64("offset")
			n, _ := cmd.Flags().GetInt64("length")
			if off < 0 || n < 0 {
				return fmt.Errorf("%w: --offset and --length must not be negative", errUsage)
			}
			var data []byte
			if off == 0 && n == 0 {
				data, err = r.Get(ctx, ref)
			} else {
				data, err = r.GetRange(ctx, ref, off, n)
			}
			if err != nil {
				return err
			}
			out, _ := cmd.Flags().GetString("output")
			if out == "" || out == "-" {
				_, err = os.Stdout.Write(data)
				return err
			}
			return os.WriteFile(out, data, 0o644)
		})
	cmd.Flags().Int64("offset", 0, "first byte of the range")
	cmd.Flags().Int64("length", 0, "bytes in the range (0: to the end)")
	cmd.Flags().StringP("output", "o", "", "file to write (default stdout)")
	return cmd
}

func yesNo(h blocks.Holding) string {
	switch {
	case h.Err != nil:
		return "? (" + h.Err.Error() + ")"
	case h.Has:
		return "yes"
	}
	return "no"
}

func blocksWhereCmd() *cobra.Command {
	return blocksCommand("where --node ADDR REF", "Show the nodes a block is placed on and who holds it",
		`where prints the nodes that should hold REF (its placement, as the node
computes it) and the holders the overlay locates, nearest first, each with
whether it answered that it holds the block durably.`,
		cobra.ExactArgs(1),
		func(ctx context.Context, _ *cobra.Command, r *blocks.Remote, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			placed, located, err := r.Where(ctx, ref)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ROLE\tID\tADDR\tHOLDS")
			for _, h := range placed {
				fmt.Fprintf(w, "placed\t%s\t%s\t%s\n", h.Peer.ID.Short(12), h.Peer.Addr, yesNo(h))
			}
			for _, h := range located {
				fmt.Fprintf(w, "located\t%s\t%s\t%s\n", h.Peer.ID.Short(12), h.Peer.Addr, yesNo(h))
			}
			return w.Flush()
		})
}

func printBlocksStatus(st blocks.NodeStatus) {
	fmt.Printf("node %s at %s, R=%d\n", st.Self.ID, st.Self.Addr, st.Replicas)
	fmt.Printf("blocks %d (%d bytes), cached %d (%d bytes)\n", st.Blocks, st.Bytes, st.CachedBlocks, st.CachedBytes)
	fmt.Printf("under-replicated %d, under-replicated puts %d, repairs %d, verify failures %d, repair passes %d\n",
		st.UnderReplicated, st.UnderReplicatedPuts, st.Repairs, st.VerifyFailures, st.Passes)
}

func blocksStatusCmd() *cobra.Command {
	return blocksCommand("status --node ADDR", "Show a storage node's blocks and replication counters", "",
		cobra.NoArgs,
		func(ctx context.Context, _ *cobra.Command, r *blocks.Remote, _ []string) error {
			st, err := r.Status(ctx)
			if err != nil {
				return err
			}
			printBlocksStatus(st)
			return nil
		})
}

func blocksRepairCmd() *cobra.Command {
	return blocksCommand("repair --node ADDR", "Run a repair pass on a node now, then show its status",
		`repair makes the node run one repair pass now: re-verify its blocks, copy
each to the holders of its placement that lack it, and republish. The
status printed after it counts "under-replicated" blocks that the pass
could not bring to R holders.`,
		cobra.NoArgs,
		func(ctx context.Context, _ *cobra.Command, r *blocks.Remote, _ []string) error {
			st, err := r.Repair(ctx)
			if err != nil {
				return err
			}
			printBlocksStatus(st)
			return nil
		})
}

func blocksDrainCmd() *cobra.Command {
	return blocksCommand("drain --node ADDR", "Copy a node's blocks to the nodes that hold them once it has left",
		`drain prepares a storage node to leave the cluster for good: it copies
every block the node holds to the nodes that will place it once the node
is gone, so that R copies exist without it. The node keeps serving and
keeps its copies. Stop it once drain reports no failed block; run drain
again if some failed (too few nodes, or holders that did not answer). A
node that is only restarting needs no drain. Raise --timeout for a node
that holds many blocks.`,
		cobra.NoArgs,
		func(ctx context.Context, _ *cobra.Command, r *blocks.Remote, _ []string) error {
			st, err := r.HandOff(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("blocks %d, copies made on other nodes %d, blocks still short of R copies elsewhere %d\n",
				st.Blocks, st.Copied, st.Failed)
			if st.Failed > 0 {
				return exitAs{fmt.Errorf("%d blocks are not yet on R other nodes: do not stop the node yet", st.Failed), kvclient.ErrUnavailable}
			}
			return nil
		})
}
