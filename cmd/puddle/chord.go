package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

func chordCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chord",
		Short: "Run a Chord overlay node, or ask one about its ring",
		Long: `chord runs and inspects the Chord overlay on its own (a cluster runs it
under the file system with --overlay chord). Start nodes with "chord node";
the other commands ask a running node, named by --node, through its admin
service.

KEY is 40 hex digits, or with --string S, the overlay key of S (the first
160 bits of its SHA-256).`,
	}
	cmd.AddCommand(chordNodeCmd(), chordStatusCmd(), chordRingCmd(), chordLookupCmd())
	return cmd
}

func chordNodeCmd() *cobra.Command {
	var (
		listen, join, idHex string
		tcfg                overlay.TapestryConfig // the shared tick flags
		cfg                 overlay.ChordConfig
		joinTimeout         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "node --listen ADDR [--join ADDR]",
		Short: "Run one Chord node until interrupted",
		Long: `node runs one Chord overlay node. The first node starts a new ring; the
others join it through any of its nodes:

  puddle chord node --listen 127.0.0.1:7401
  puddle chord node --listen 127.0.0.1:7402 --join 127.0.0.1:7401

The node serves the overlay and its admin service (what the other
"puddle chord" commands ask) on --listen. It prints its id and address
once it is part of the ring, and leaves the ring gracefully on SIGINT or
SIGTERM. Timeouts are counted in ticks of --tick.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			x, err := checkNodeFlags(listen, join, idHex)
			if err != nil {
				return err
			}
			cfg.ID = x
			o := overlay.Options{Kind: overlay.KindChord, Tapestry: tcfg, Chord: cfg}
			if err := finishOverlayFlags(&o, 1); err != nil {
				return err
			}
			cfg = o.Chord
			cfg.Listen, cfg.Join, cfg.Logger = listen, transport.Addr(join), logger(cmd)

			return runOverlayNode("chord", "ring", join, joinTimeout, func(ctx context.Context) (overlay.Admin, error) {
				return overlay.StartChord(ctx, cfg)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "address to serve on (host:port)")
	f.StringVar(&join, "join", "", "address of any node of the ring to join (default: start a new ring)")
	f.StringVar(&idHex, "id", "", "node id, 40 hex digits (default random)")
	f.DurationVar(&joinTimeout, "join-timeout", 30*time.Second, "give up joining after this long")
	f.DurationVar(&tcfg.Tick, "tick", 100*time.Millisecond, "length of one overlay tick")
	f.IntVar(&tcfg.FailureTicks, "failure-ticks", 0, "a peer silent for N ticks is dead (0: the core's default)")
	f.IntVar(&tcfg.RequestTicks, "request-ticks", 0, "wait N ticks for an answer before retrying or giving up (0: the core's default)")
	chordFlags(f, &cfg)
	return cmd
}

func chordStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status --node ADDR",
		Short: "Show a node's state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withOverlayNode(cmd, func(ctx context.Context, c *overlay.Client) error {
				st, err := c.Status(ctx)
				if err != nil {
					return err
				}
				if st.Overlay != overlay.KindChord {
					return fmt.Errorf("%w: %s runs %s, not chord", overlay.ErrInvalid, st.Self.Addr, st.Overlay)
				}
				fmt.Printf("node %s at %s: %s, %d ring positions, %d successors and fingers, dropped on receipt %d\n",
					st.Self.ID, st.Self.Addr, st.State, st.Positions, st.Neighbours, st.Dropped)
				return nil
			})
		},
	}
	overlayClientFlags(cmd, false)
	return cmd
}

func chordRingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ring --node ADDR",
		Short: "Print a node's predecessor, successor list and fingers",
		Long: `ring prints, for each of the node's ring positions, its predecessor, its
successor list (nearest first) and its fingers: finger i is the successor
of the position's id plus 2^i; runs of equal fingers are printed once, at
their first index.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withOverlayNode(cmd, func(ctx context.Context, c *overlay.Client) error {
				ring, err := c.Ring(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				for _, p := range ring {
					state := "joined"
					if !p.Joined {
						state = "joining"
					}
					fmt.Fprintf(w, "position %s at %s (%s)\n", p.Self.ID, p.Self.Addr, state)
					if p.Predecessor != nil {
						fmt.Fprintf(w, "  predecessor\t%s\t%s\t\n", p.Predecessor.ID, p.Predecessor.Addr)
					} else {
						fmt.Fprintf(w, "  predecessor\t(unknown)\t\t\n")
					}
					for i, s := range p.Successors {
						fmt.Fprintf(w, "  successor %d\t%s\t%s\t\n", i, s.ID, s.Addr)
					}
					for _, f := range p.Fingers {
						fmt.Fprintf(w, "  finger %d\t%s\t%s\t\n", f.Index, f.ID, f.Addr)
					}
				}
				return w.Flush()
			})
		},
	}
	overlayClientFlags(cmd, false)
	return cmd
}

func chordLookupCmd() *cobra.Command {
	return overlayKeyCmd("lookup", "Look up KEY's successors from a node, with the path taken", "",
		func(ctx context.Context, c *overlay.Client, key id.ID) error {
			path, err := c.Route(ctx, key)
			if err != nil {
				return err
			}
			succ, err := c.Responsible(ctx, key)
			if err != nil {
				return err
			}
			if len(succ) == 0 {
				return errors.New("chord: lookup returned no successor")
			}
			fmt.Printf("lookup of %s: %d hops\n", key, len(path)-1)
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			for i, p := range path {
				fmt.Fprintf(w, "hop %d\t%s\t%s\t\n", i, p.ID, p.Addr)
			}
			for i, p := range succ {
				fmt.Fprintf(w, "successor %d\t%s\t%s\t\n", i, p.ID, p.Addr)
			}
			return w.Flush()
		})
}
