package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/node/kvclient"
)

func memberCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "member",
		Short: "Change the cluster's membership, one node at a time",
		Long: `member adds, promotes and removes nodes. A new node joins as a learner: start
it with "puddle node" (without --bootstrap, with --cluster listing the
current members and itself), add it, then promote it once it has caught up.`,
	}
	clientFlags(cmd, 30*time.Second)
	run := func(f func(ctx context.Context, c *kvclient.Client, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			return withClient(cmd, func(ctx context.Context, c *kvclient.Client) error { return f(ctx, c, args) })
		}
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add ID PEER_ADDR CLIENT_ADDR",
		Short: "Add a node as a learner",
		Args:  cobra.ExactArgs(3),
		RunE: run(func(ctx context.Context, c *kvclient.Client, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.AddMember(ctx, id, args[1], args[2])
		}),
	}, &cobra.Command{
		Use:   "promote ID",
		Short: "Make a caught-up learner a voter (waits for it to catch up)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, c *kvclient.Client, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.PromoteMember(ctx, id)
		}),
	}, &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a node (a removed leader steps down)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, c *kvclient.Client, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.RemoveMember(ctx, id)
		}),
	}, &cobra.Command{
		Use:   "transfer-leader ID",
		Short: "Hand leadership to voter ID",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, c *kvclient.Client, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.TransferLeader(ctx, id)
		}),
	})
	return cmd
}

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%w: bad node id %q", errUsage, s)
	}
	return id, nil
}
