package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

// pathsCmd is a command that applies op to each PATH argument.
func pathsCmd(use, short string, op func(ctx context.Context, cmd *cobra.Command, c *client.Client, p string) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				for _, a := range args {
					p, err := remotePath(a)
					if err != nil {
						return err
					}
					if err := op(ctx, cmd, c, p); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	fsFlags(cmd)
	return cmd
}

func mkdirCmd() *cobra.Command {
	cmd := pathsCmd("mkdir [-p] PATH...", "Make directories",
		func(ctx context.Context, cmd *cobra.Command, c *client.Client, p string) error {
			if parents, _ := cmd.Flags().GetBool("parents"); parents {
				return c.MkdirAll(ctx, p)
			}
			return c.Mkdir(ctx, p)
		})
	cmd.Flags().BoolP("parents", "p", false, "make missing parents too; an existing directory is no error")
	return cmd
}

func rmCmd() *cobra.Command {
	cmd := pathsCmd("rm [-r] PATH...", "Remove files, or with -r directories and everything under them",
		func(ctx context.Context, cmd *cobra.Command, c *client.Client, p string) error {
			if r, _ := cmd.Flags().GetBool("recursive"); r {
				return c.RemoveAll(ctx, p)
			}
			return c.Remove(ctx, p)
		})
	cmd.Long = `rm removes files and empty directories; with -r, directories and everything
under them. Nothing is lost: history is kept, and "ls --at TIME" or
"get --at TIME" still read what was removed.`
	cmd.Flags().BoolP("recursive", "r", false, "remove directories and everything under them")
	return cmd
}

func mvCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mv FROM TO",
		Short: "Move a file or directory (with its history); TO must not exist",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				from, err := remotePath(args[0])
				if err != nil {
					return err
				}
				to, err := remotePath(args[1])
				if err != nil {
					return err
				}
				return c.Rename(ctx, from, to)
			})
		},
	}
	fsFlags(cmd)
	return cmd
}

func restoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore PATH VERSION",
		Short: "Make an earlier version of a file current again (as a new version)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil || n == 0 {
				return fmt.Errorf("%w: VERSION must be a version number (see puddle history), not %q", errUsage, args[1])
			}
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				p, err := remotePath(args[0])
				if err != nil {
					return err
				}
				v, err := c.Restore(ctx, p, n)
				if err != nil {
					return err
				}
				fmt.Printf("%s: version %d restored as version %d\n", p, n, v.Number)
				return nil
			})
		},
	}
	fsFlags(cmd)
	return cmd
}

func lockCmd() *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "lock PATH",
		Short: "Take (or renew) the lease on a path and print its fencing token",
		Long: `lock takes the lease on PATH for --ttl, as the current user, and prints its
fencing token. While the lease is live, commits to PATH need the token,
and another user's lock fails (exit 9). Locking again renews it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl <= 0 {
				return fmt.Errorf("%w: --ttl must be positive", errUsage)
			}
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				p, err := remotePath(args[0])
				if err != nil {
					return err
				}
				l, err := c.Lock(ctx, p, ttl)
				if err != nil {
					return err
				}
				fmt.Printf("%s: locked by %s, token %d, until %s\n", p, l.Owner, l.Token, stamp(l.Expires))
				return nil
			})
		},
	}
	fsFlags(cmd)
	cmd.Flags().DurationVar(&ttl, "ttl", time.Minute, "how long the lease lasts unless renewed")
	return cmd
}

func unlockCmd() *cobra.Command {
	var token uint64
	cmd := &cobra.Command{
		Use:   "unlock PATH --token N",
		Short: "Release a lease taken with puddle lock",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if token == 0 {
				return fmt.Errorf("%w: --token is required (puddle lock printed it)", errUsage)
			}
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				p, err := remotePath(args[0])
				if err != nil {
					return err
				}
				return c.Unlock(ctx, meta.Lease{Path: p, Owner: c.User(), Token: token})
			})
		},
	}
	fsFlags(cmd)
	cmd.Flags().Uint64Var(&token, "token", 0, "the lease's fencing token")
	return cmd
}
