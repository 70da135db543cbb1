package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/client"
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
			m, err := client.DialMeta(addrs...)
			if err != nil {
				return err
			}
			defer m.Close()
			st, err := m.Cluster(cmd.Context(), 2*time.Second)
			printClusterStatus(st)
			return err
		},
	}
	cmd.Flags().String("addr", "", "cluster client addresses, comma-separated (default $PUDDLE_ADDR or the dev cluster's)")
	return cmd
}
