package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"github.com/puddlestore/puddlestore/node"
)

// nodeModeArg, as the first argument, makes this program run one node (as
// `puddle node` does) under a CPU profiler: the diagnostic mode of
// --profile, which profiles the product without changing it.
const nodeModeArg = "__node"

func nodeMain(args []string) error {
	fs := flag.NewFlagSet(nodeModeArg, flag.ContinueOnError)
	id := fs.Uint64("id", 0, "")
	data := fs.String("data", "", "")
	spec := fs.String("cluster", "", "")
	bootstrap := fs.Bool("bootstrap", false, "")
	profile := fs.String("cpuprofile", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var members []node.Member
	for _, part := range strings.Split(*spec, ",") {
		idStr, addrs, _ := strings.Cut(part, "=")
		peer, client, _ := strings.Cut(addrs, "/")
		mid, err := strconv.ParseUint(idStr, 10, 64)
		if err != nil {
			return fmt.Errorf("bad member %q", part)
		}
		members = append(members, node.Member{ID: mid, PeerAddr: peer, ClientAddr: client})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The same Config as cmd/puddle/nodecmd.go builds.
	n, err := node.Start(ctx, node.Config{ID: *id, DataDir: *data, Members: members, Bootstrap: *bootstrap})
	if err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	select {
	case <-ctx.Done():
	case <-n.Raft().Done():
	}
	pprof.StopCPUProfile()
	return n.Close()
}
