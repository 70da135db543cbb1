// Command puddle is PuddleStore's one binary: it runs nodes and a whole
// development cluster, and talks to a cluster as a client.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/node/kvclient"
)

// Exit codes: 0 success, 1 generic failure, 2 usage, 3 not found,
// 4 cluster unavailable; the file system's 5-9 are in fs.go.
const (
	exitFailure     = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitUnavailable = 4
)

// errNotFound marks a missing key for the exit code.
var errNotFound = errors.New("not found")

func main() {
	root := &cobra.Command{
		Use:           "puddle",
		Short:         "PuddleStore: a very distributed file system",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("log-level", "warn", "log level: debug, info, warn, error")
	root.AddCommand(devCmd(), nodeCmd(), kvCmd(), memberCmd(), statusCmd(), tapestryCmd(), chordCmd(), blocksCmd(),
		putCmd(), getCmd(), catCmd(), lsCmd(), statCmd(), historyCmd(), mkdirCmd(), rmCmd(), mvCmd(),
		restoreCmd(), lockCmd(), unlockCmd(), shellCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "puddle:", err)
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if code := fsExitCode(err); code != 0 {
		return code
	}
	switch {
	case errors.Is(err, errNotFound):
		return exitNotFound
	case errors.Is(err, kvclient.ErrUnavailable):
		return exitUnavailable
	case errors.Is(err, errUsage), strings.Contains(err.Error(), "unknown command"), strings.Contains(err.Error(), "flag"),
		strings.Contains(err.Error(), "arg(s)"): // cobra's argument count checks
		return exitUsage
	}
	return exitFailure
}

var errUsage = errors.New("usage")

func logger(cmd *cobra.Command) *slog.Logger {
	lvl, _ := cmd.Flags().GetString("log-level")
	var l slog.Level
	if err := l.UnmarshalText([]byte(lvl)); err != nil {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// withClient dials the cluster named by cmd's flags and runs f with a
// context bounded by --timeout.
func withClient(cmd *cobra.Command, f func(ctx context.Context, c *kvclient.Client) error) error {
	c, err := kvclient.Dial(clusterAddrs(cmd)...)
	if err != nil {
		return err
	}
	defer c.Close()
	to, _ := cmd.Flags().GetDuration("timeout")
	ctx, cancel := context.WithTimeout(cmd.Context(), to)
	defer cancel()
	return f(ctx, c)
}

// clientFlags adds the flags every client command takes.
func clientFlags(cmd *cobra.Command, timeout time.Duration) {
	cmd.PersistentFlags().String("addr", "", "cluster client addresses, comma-separated (default $PUDDLE_ADDR or the dev cluster's)")
	cmd.PersistentFlags().Duration("timeout", timeout, "give up after this long")
}

// defaultAddrs are the client addresses of `puddle dev`'s cluster.
const defaultAddrs = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"

// clusterAddrs returns --addr, else $PUDDLE_ADDR, else the dev cluster's.
func clusterAddrs(cmd *cobra.Command) []string {
	a, _ := cmd.Flags().GetString("addr")
	if a == "" {
		a = os.Getenv("PUDDLE_ADDR")
	}
	if a == "" {
		a = defaultAddrs
	}
	var out []string
	for _, s := range strings.Split(a, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
