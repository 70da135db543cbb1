package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
)

// overlayFlags adds the flags that tune a Tapestry node.
func overlayFlags(f *pflag.FlagSet, cfg *overlay.TapestryConfig) {
	f.DurationVar(&cfg.Tick, "tick", 100*time.Millisecond, "length of one overlay tick")
	f.IntVar(&cfg.HeartbeatTicks, "heartbeat-ticks", 0, "ping neighbours every N ticks (0: 10)")
	f.IntVar(&cfg.FailureTicks, "failure-ticks", 0, "a neighbour silent for N ticks is dead (0: the overlay's default)")
	f.IntVar(&cfg.RepublishTicks, "republish-ticks", 0, "republish objects every N ticks (0: 300)")
	f.IntVar(&cfg.RequestTicks, "request-ticks", 0, "wait N ticks for an answer before giving up or retrying (0: 20)")
	f.IntVar(&cfg.Salts, "salts", 0, "roots per object (0: 3); every node of a mesh must use the same")
}

// checkOverlayFlags refuses negative tick counts.
func checkOverlayFlags(cfg overlay.TapestryConfig) error {
	if cfg.Tick < 0 || cfg.HeartbeatTicks < 0 || cfg.FailureTicks < 0 || cfg.RepublishTicks < 0 || cfg.RequestTicks < 0 || cfg.Salts < 0 {
		return fmt.Errorf("%w: --tick and the tick counts must not be negative", errUsage)
	}
	return nil
}

// chordFlags adds the flags only a Chord node has.
func chordFlags(f *pflag.FlagSet, cfg *overlay.ChordConfig) {
	f.IntVar(&cfg.Successors, "successors", 0, "Chord: successor-list length (0: 8); at least --replicas")
	f.IntVar(&cfg.VirtualNodes, "virtual-nodes", 0, "Chord: ring positions per node, for load balance (0: 1)")
}

// overlayOptionsFlags adds --overlay and the flags that tune either
// overlay; finishOverlayFlags checks them.
func overlayOptionsFlags(f *pflag.FlagSet, o *overlay.Options) {
	f.StringVar(&o.Kind, "overlay", overlay.KindTapestry, "overlay that places blocks: "+strings.Join(overlay.Kinds, " or "))
	overlayFlags(f, &o.Tapestry)
	chordFlags(f, &o.Chord)
}

// finishOverlayFlags checks the overlay flags and gives Chord the shared
// ones (--tick, --failure-ticks, --request-ticks).
func finishOverlayFlags(o *overlay.Options, replicas int) error {
	if !slices.Contains(overlay.Kinds, o.Kind) {
		return fmt.Errorf("%w: --overlay must be %s", errUsage, strings.Join(overlay.Kinds, " or "))
	}
	if err := checkOverlayFlags(o.Tapestry); err != nil {
		return err
	}
	c := &o.Chord
	if c.Successors < 0 || c.VirtualNodes < 0 {
		return fmt.Errorf("%w: --successors and --virtual-nodes must not be negative", errUsage)
	}
	if o.Kind == overlay.KindChord && c.Successors != 0 && c.Successors < replicas {
		return fmt.Errorf("%w: --successors %d is fewer than --replicas %d", errUsage, c.Successors, replicas)
	}
	c.Tick, c.FailureTicks, c.RequestTicks = o.Tapestry.Tick, o.Tapestry.FailureTicks, o.Tapestry.RequestTicks
	return nil
}

// checkNodeFlags checks the flags every overlay node command has: --listen
// (required), --join and --id (40 hex digits, not zero; empty: random).
func checkNodeFlags(listen, join, idHex string) (id.ID, error) {
	if listen == "" {
		return id.ID{}, fmt.Errorf("%w: --listen is required", errUsage)
	}
	if err := checkHostPort(listen, "--listen"); err != nil {
		return id.ID{}, err
	}
	if join != "" {
		if err := checkHostPort(join, "--join"); err != nil {
			return id.ID{}, err
		}
	}
	if idHex == "" {
		return id.ID{}, nil
	}
	x, err := id.Parse(idHex)
	if err != nil || x == (id.ID{}) {
		return id.ID{}, fmt.Errorf("%w: --id must be 40 hex digits, not all zero: %q", errUsage, idHex)
	}
	return x, nil
}

// runOverlayNode starts an overlay node with start, bounded by
// joinTimeout, prints "KIND node ID at ADDR: HOW" (the line the process
// tests wait for), and runs it until SIGINT or SIGTERM, then leaves
// gracefully. group is what the overlay calls its network (mesh, ring).
func runOverlayNode(kind, group, join string, joinTimeout time.Duration, start func(ctx context.Context) (overlay.Admin, error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	n, err := start(startCtx)
	if err != nil {
		return overlayErr(err)
	}
	how := "started a new " + group
	if join != "" {
		how = "joined via " + join
	}
	fmt.Printf("%s node %s at %s: %s\n", kind, n.Self().ID, n.Self().Addr, how)
	<-ctx.Done()
	return n.Close()
}
