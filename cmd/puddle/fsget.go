package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/client"
)

func getCmd() *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "get [-r] REMOTE LOCAL",
		Short: "Copy a file (or with -r a directory) from the cluster to LOCAL",
		Long: `get copies the file at REMOTE to LOCAL ("-" for stdout; an existing local
directory receives it under its own name). --version V gets an earlier
version, --at TIME the file as it was then. With -r, REMOTE is a directory
copied with everything under it. Every byte is verified against its
block's hash.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				c, err := view(cmd, c)
				if err != nil {
					return err
				}
				src, err := remotePath(args[0])
				if err != nil {
					return err
				}
				version, _ := cmd.Flags().GetUint64("version")
				if recursive {
					return getTree(ctx, c, src, args[1])
				}
				dest := args[1]
				if st, err := os.Stat(dest); err == nil && st.IsDir() {
					dest = filepath.Join(dest, path.Base(src))
				}
				return getFile(ctx, c, src, version, dest)
			})
		},
	}
	fsFlags(cmd)
	asOfFlags(cmd, true)
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "copy a directory and everything under it")
	return cmd
}

func catCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cat REMOTE...",
		Short: "Write files to stdout",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				c, err := view(cmd, c)
				if err != nil {
					return err
				}
				version, _ := cmd.Flags().GetUint64("version")
				for _, a := range args {
					p, err := remotePath(a)
					if err != nil {
						return err
					}
					if err := getFile(ctx, c, p, version, "-"); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	fsFlags(cmd)
	asOfFlags(cmd, true)
	return cmd
}

// getFile copies version (0: current) of src to dest ("-": stdout). A
// local file is written beside its destination and renamed into place,
// so a failed get leaves no partial file.
func getFile(ctx context.Context, c *client.Client, src string, version uint64, dest string) error {
	f, err := c.OpenVersion(ctx, src, version)
	if err != nil {
		return err
	}
	defer f.Close()
	if dest == "-" {
		_, err := io.Copy(os.Stdout, f)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".puddle-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	p := newProgress("get "+src, f.Size())
	_, err = io.Copy(p.writer(tmp), f)
	p.done()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

// getTree copies a remote directory tree into local.
func getTree(ctx context.Context, c *client.Client, src, local string) error {
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	ents, err := c.ReadDir(ctx, src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		from, to := path.Join(src, e.Name), filepath.Join(local, e.Name)
		if e.Dir {
			err = getTree(ctx, c, from, to)
		} else {
			err = getFile(ctx, c, from, 0, to)
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", from, err)
		}
	}
	return nil
}
