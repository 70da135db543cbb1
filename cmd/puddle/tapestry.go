package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/node/kvclient"
	"github.com/puddlestore/puddlestore/overlay"
)

func tapestryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tapestry",
		Short: "Run a Tapestry overlay node, or ask one about its routing and objects",
		Long: `tapestry runs and inspects the Tapestry overlay on its own (the file system
will use it to locate blocks). Start nodes with "tapestry node"; the other
commands ask a running node, named by --node, through its admin service.

KEY is 40 hex digits, or with --string S, the overlay key of S (the first
160 bits of its SHA-256).`,
	}
	cmd.AddCommand(tapestryNodeCmd(), tapestryStatusCmd(), tapestryTableCmd(), tapestryRouteCmd(),
		tapestryPublishCmd(), tapestryUnpublishCmd(), tapestryLocateCmd())
	return cmd
}

// overlayClientFlags adds the flags of a command that asks a node.
func overlayClientFlags(cmd *cobra.Command, withKey bool) {
	cmd.Flags().String("node", "", "address of the node to ask (host:port)")
	cmd.Flags().Duration("timeout", 10*time.Second, "give up after this long")
	if withKey {
		cmd.Flags().String("string", "", "use the key of this string (id.Hash) instead of KEY")
	}
}

// withOverlayNode dials the node named by --node and runs f with a context
// bounded by --timeout.
func withOverlayNode(cmd *cobra.Command, f func(ctx context.Context, c *overlay.Client) error) error {
	addr, _ := cmd.Flags().GetString("node")
	if addr == "" {
		return fmt.Errorf("%w: --node is required", errUsage)
	}
	if err := checkHostPort(addr, "--node"); err != nil {
		return err
	}
	c, err := overlay.Dial(addr)
	if err != nil {
		return overlayErr(err)
	}
	defer c.Close()
	to, _ := cmd.Flags().GetDuration("timeout")
	ctx, cancel := context.WithTimeout(cmd.Context(), to)
	defer cancel()
	return overlayErr(f(ctx, c))
}

func checkHostPort(addr, flag string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: %s %q: want host:port", errUsage, flag, addr)
	}
	return nil
}

// keyArg reads the KEY argument, or --string.
func keyArg(cmd *cobra.Command, args []string) (id.ID, error) {
	s, _ := cmd.Flags().GetString("string")
	switch {
	case cmd.Flags().Changed("string") && len(args) == 0:
		return id.Hash([]byte(s)), nil
	case cmd.Flags().Changed("string"):
		return id.ID{}, fmt.Errorf("%w: give KEY or --string, not both", errUsage)
	case len(args) != 1:
		return id.ID{}, fmt.Errorf("%w: give KEY (40 hex digits) or --string S", errUsage)
	}
	k, err := id.Parse(strings.TrimSpace(args[0]))
	if err != nil {
		return id.ID{}, fmt.Errorf("%w: KEY: %w", errUsage, err)
	}
	return k, nil
}

// exitAs gives err the exit code of kind (see exitCode) and keeps err's
// message.
type exitAs struct{ err, kind error }

func (e exitAs) Error() string   { return e.err.Error() }
func (e exitAs) Unwrap() []error { return []error{e.err, e.kind} }

// overlayErr maps the overlay's errors to the CLI's exit codes: not found
// 3, unreachable or no answer in time 4, bad input 2.
func overlayErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, overlay.ErrNotFound):
		return exitAs{err, errNotFound}
	case errors.Is(err, overlay.ErrUnavailable), errors.Is(err, overlay.ErrClosed):
		return exitAs{err, kvclient.ErrUnavailable}
	case errors.Is(err, overlay.ErrInvalid):
		return exitAs{err, errUsage}
	}
	return err
}

func tapestryStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status --node ADDR",
		Short: "Show a node's state and counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withOverlayNode(cmd, func(ctx context.Context, c *overlay.Client) error {
				st, err := c.Status(ctx)
				if err != nil {
					return err
				}
				fmt.Printf("node %s at %s: %s, tick %d\n", st.Self.ID, st.Self.Addr, st.State, st.Tick)
				fmt.Printf("neighbours %d, backpointers %d, object pointers %d, objects published %d\n",
					st.Neighbours, st.Backpointers, st.Pointers, st.Published)
				fmt.Printf("messages sent %d (%d bytes), dropped on receipt %d, neighbours failed %d, slot repairs %d\n",
					st.Sent, st.SentBytes, st.Dropped, st.Failures, st.Repairs)
				return nil
			})
		},
	}
	overlayClientFlags(cmd, false)
	return cmd
}

func tapestryTableCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "table --node ADDR",
		Short: "Print a node's routing table",
		Long: `table prints a node's routing table: at level L, digit D, the neighbours
that share the node's first L digits and have D next, nearest first, with
the measured round-trip time ("-": not measured yet). Empty slots are left
out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withOverlayNode(cmd, func(ctx context.Context, c *overlay.Client) error {
				tb, err := c.Table(ctx)
				if err != nil {
					return err
				}
				n := 0
				for _, s := range tb.Slots {
					n += len(s.Neighbours)
				}
				fmt.Printf("node %s at %s: %d neighbours in %d slots, %d backpointers\n",
					tb.Self.ID, tb.Self.Addr, n, len(tb.Slots), tb.Backpointers)
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "LEVEL\tDIGIT\tID\tADDR\tRTT")
				for _, s := range tb.Slots {
					for i, e := range s.Neighbours {
						level, digit := fmt.Sprint(s.Level), fmt.Sprintf("%x", s.Digit)
						if i > 0 {
							level, digit = "", ""
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", level, digit, e.ID.Short(12), e.Addr, rttString(e.RTT))
					}
				}
				return w.Flush()
			})
		},
	}
	overlayClientFlags(cmd, false)
	return cmd
}

func rttString(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return d.Round(10 * time.Microsecond).String()
}

// overlayKeyCmd is a subcommand that asks one node about one KEY.
func overlayKeyCmd(use, short, long string, run func(ctx context.Context, c *overlay.Client, key id.ID) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use + " --node ADDR KEY",
		Short: short,
		Long:  long,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := keyArg(cmd, args)
			if err != nil {
				return err
			}
			return withOverlayNode(cmd, func(ctx context.Context, c *overlay.Client) error { return run(ctx, c, key) })
		},
	}
	overlayClientFlags(cmd, true)
	return cmd
}

func tapestryRouteCmd() *cobra.Command {
	return overlayKeyCmd("route", "Trace the route from a node to KEY's root, hop by hop", "",
		func(ctx context.Context, c *overlay.Client, key id.ID) error {
			path, err := c.Route(ctx, key)
			if err != nil {
				return err
			}
			fmt.Printf("route to %s: %d hops\n", key, len(path)-1)
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HOP\tID\tADDR\tSHARED\t")
			for i, p := range path {
				note := ""
				if i == len(path)-1 {
					note = "root"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\n", i, p.ID, p.Addr, id.SharedPrefixLen(p.ID, key), note)
			}
			return w.Flush()
		})
}

func tapestryPublishCmd() *cobra.Command {
	return overlayKeyCmd("publish", "Make a node announce that it holds KEY; waits for every root's ack",
		`publish makes the node announce that it holds the object KEY: a pointer is
left on the way to each of the key's roots, and kept up (republished) by
the node until it stops or unpublishes. It returns once every root has
acknowledged; if that times out, the announcement stands and is retried.`,
		func(ctx context.Context, c *overlay.Client, key id.ID) error {
			if err := c.Publish(ctx, key); err != nil {
				return err
			}
			fmt.Printf("published %s\n", key)
			return nil
		})
}

func tapestryUnpublishCmd() *cobra.Command {
	return overlayKeyCmd("unpublish", "Make a node withdraw its announcement of KEY", "",
		func(ctx context.Context, c *overlay.Client, key id.ID) error {
			if err := c.Unpublish(ctx, key); err != nil {
				return err
			}
			fmt.Printf("unpublished %s\n", key)
			return nil
		})
}

func tapestryLocateCmd() *cobra.Command {
	return overlayKeyCmd("locate", "Find the nodes that hold KEY, nearest to the asked node first", "",
		func(ctx context.Context, c *overlay.Client, key id.ID) error {
			hs, err := c.Locate(ctx, key)
			if err != nil {
				return err
			}
			for _, h := range hs {
				fmt.Printf("%s %s\n", h.ID, h.Addr)
			}
			return nil
		})
}
