package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

// The file system's exit codes, beyond 1-4 (main.go).
const (
	exitExist    = 5 // already exists
	exitNotDir   = 6 // not a directory, or is a directory
	exitNotEmpty = 7 // directory not empty
	exitConflict = 8 // another writer committed first
	exitLocked   = 9 // another holder's lease
)

// fsExitCode maps a file system error to its exit code (0: not one).
func fsExitCode(err error) int {
	switch meta.KindOf(err) {
	case meta.KindNotExist:
		return exitNotFound
	case meta.KindExist:
		return exitExist
	case meta.KindInvalid:
		return exitUsage
	case meta.KindNotDir, meta.KindIsDir:
		return exitNotDir
	case meta.KindNotEmpty:
		return exitNotEmpty
	case meta.KindConflict:
		return exitConflict
	case meta.KindLocked:
		return exitLocked
	}
	if errors.Is(err, client.ErrUnavailable) {
		return exitUnavailable
	}
	return 0
}

// fsFlags adds the flags of a command that talks to a cluster's file
// system.
func fsFlags(cmd *cobra.Command) {
	clientFlags(cmd, time.Hour)
	cmd.Flags().Bool("stale", false, "let any metadata node answer reads, from its possibly stale state")
}

// withFS dials the cluster named by --addr / PUDDLE_ADDR and runs f with
// a context bounded by --timeout.
func withFS(cmd *cobra.Command, f func(ctx context.Context, c *client.Client) error) error {
	stale, _ := cmd.Flags().GetBool("stale")
	c, err := client.DialOptions(client.Options{Stale: stale}, clusterAddrs(cmd)...)
	if err != nil {
		return err
	}
	defer c.Close()
	to, _ := cmd.Flags().GetDuration("timeout")
	ctx, cancel := context.WithTimeout(cmd.Context(), to)
	defer cancel()
	return f(ctx, c)
}

// asOf adds --at (and --version when withVersion) to a reading command.
func asOfFlags(cmd *cobra.Command, withVersion bool) {
	cmd.Flags().String("at", "", "read the tree as it was at TIME (RFC 3339, e.g. 2026-11-23T18:00:00Z, or a duration ago, e.g. 10m)")
	if withVersion {
		cmd.Flags().Uint64("version", 0, "read version V of the file (see puddle history)")
	}
}

// parseAt reads --at: an RFC 3339 time, or a duration before now.
func parseAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: --at %q: want an RFC 3339 time (2026-11-23T18:00:00Z) or a duration ago (10m)", errUsage, s)
}

// view applies --at to c.
func view(cmd *cobra.Command, c *client.Client) (*client.Client, error) {
	at, _ := cmd.Flags().GetString("at")
	if at == "" {
		return c, nil
	}
	t, err := parseAt(at, time.Now())
	if err != nil {
		return nil, err
	}
	return c.AsOf(t), nil
}

// withPath is withFS for a reading command on one PATH: the client is
// viewed as of --at, and the path checked.
func withPath(cmd *cobra.Command, arg string, f func(ctx context.Context, c *client.Client, p string) error) error {
	return withFS(cmd, func(ctx context.Context, c *client.Client) error {
		c, err := view(cmd, c)
		if err != nil {
			return err
		}
		p, err := remotePath(arg)
		if err != nil {
			return err
		}
		return f(ctx, c, p)
	})
}

// remotePath checks an absolute path argument.
func remotePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: %q: remote paths are absolute (start with /)", errUsage, p)
	}
	return meta.CleanPath(p)
}

// isTerminal reports whether f is a terminal (for progress bars).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// humanBytes formats n bytes for people.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
