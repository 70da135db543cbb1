package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

func tapestryNodeCmd() *cobra.Command {
	var (
		listen, join, idHex string
		cfg                 overlay.TapestryConfig
		joinTimeout         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "node --listen ADDR [--join ADDR]",
		Short: "Run one Tapestry node until interrupted",
		Long: `node runs one Tapestry overlay node. The first node starts a new mesh; the
others join it through any of its nodes:

  puddle tapestry node --listen 127.0.0.1:7301
  puddle tapestry node --listen 127.0.0.1:7302 --join 127.0.0.1:7301

The node serves the overlay and its admin service (what the other
"puddle tapestry" commands ask) on --listen. It prints its id and address
once it is part of the mesh, and leaves the mesh gracefully on SIGINT or
SIGTERM. Timeouts are counted in ticks of --tick.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			x, err := checkNodeFlags(listen, join, idHex)
			if err != nil {
				return err
			}
			cfg.ID = x
			if err := checkOverlayFlags(cfg); err != nil {
				return err
			}
			cfg.Listen, cfg.Join, cfg.Logger = listen, transport.Addr(join), logger(cmd)

			return runOverlayNode("tapestry", "mesh", join, joinTimeout, func(ctx context.Context) (overlay.Admin, error) {
				return overlay.StartTapestry(ctx, cfg)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "address to serve on (host:port)")
	f.StringVar(&join, "join", "", "address of any node of the mesh to join (default: start a new mesh)")
	f.StringVar(&idHex, "id", "", "node id, 40 hex digits (default random)")
	f.DurationVar(&joinTimeout, "join-timeout", 30*time.Second, "give up joining after this long")
	overlayFlags(f, &cfg)
	return cmd
}
