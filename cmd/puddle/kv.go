package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/node/kvclient"
)

func kvCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kv",
		Short: "Use the cluster's replicated key-value store",
	}
	clientFlags(cmd, 10*time.Second)
	cmd.AddCommand(kvNodeCmd())
	with := withClient
	cmd.AddCommand(&cobra.Command{
		Use:   "put KEY VALUE",
		Short: "Store VALUE under KEY",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(cmd, func(ctx context.Context, c *kvclient.Client) error {
				return c.Put(ctx, args[0], []byte(args[1]))
			})
		},
	}, &cobra.Command{
		Use:   "get KEY",
		Short: "Print the value of KEY (linearizable read)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(cmd, func(ctx context.Context, c *kvclient.Client) error {
				v, found, err := c.Get(ctx, args[0])
				if err != nil {
					return err
				}
				if !found {
					return fmt.Errorf("%w: key %q", errNotFound, args[0])
				}
				_, err = os.Stdout.Write(append(v, '\n'))
				return err
			})
		},
	}, &cobra.Command{
		Use:   "del KEY",
		Short: "Delete KEY",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(cmd, func(ctx context.Context, c *kvclient.Client) error {
				existed, err := c.Delete(ctx, args[0])
				if err == nil && !existed {
					return fmt.Errorf("%w: key %q", errNotFound, args[0])
				}
				return err
			})
		},
	})
	return cmd
}

func statusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the Raft role, term and log of each node, and the storage nodes' replication health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addrs := clusterAddrs(cmd)
			c, err := kvclient.Dial(addrs...)
			if err != nil {
				return err
			}
			defer c.Close()
			fmt.Printf("%-22s %4s %-10s %6s %8s %8s %8s %8s\n", "ADDRESS", "ID", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "SNAP")
			reached := 0
			for _, a := range addrs {
				ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
				st, err := c.Status(ctx, a)
				cancel()
				if err != nil {
					fmt.Printf("%-22s unreachable: %v\n", a, err)
					continue
				}
				reached++
				fmt.Printf("%-22s %4x %-10s %6d %8x %8d %8d %8d\n", a, st.Id, st.Role, st.Term, st.Leader, st.Commit, st.Applied, st.SnapshotIndex)
			}
			if reached == 0 {
				return fmt.Errorf("%w: no node answered at %v", kvclient.ErrUnavailable, addrs)
			}
			return storageStatus(cmd.Context(), addrs)
		},
	}
	cmd.Flags().String("addr", "", "cluster client addresses, comma-separated (default $PUDDLE_ADDR or the dev cluster's)")
	return cmd
}
