package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

func lsCmd() *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "ls [-l] [PATH]",
		Short: "List a directory (default /)",
		Long: `ls lists the directory PATH (default /), or names the file PATH. -l adds
mode, owner, size, versions and modification time. --at TIME lists the
tree as it was then.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/"
			if len(args) == 1 {
				p = args[0]
			}
			return withPath(cmd, p, func(ctx context.Context, c *client.Client, p string) error {
				info, err := c.Stat(ctx, p)
				if err != nil {
					return err
				}
				ents := []meta.Info{info}
				if info.Dir {
					if ents, err = c.ReadDir(ctx, p); err != nil {
						return err
					}
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				for _, e := range ents {
					name := e.Name
					if e.Dir {
						name += "/"
					}
					if !long {
						fmt.Fprintln(w, name)
						continue
					}
					kind := "-"
					if e.Dir {
						kind = "d"
					}
					versions := ""
					if !e.Dir {
						versions = fmt.Sprintf("v%d", e.Version.Number)
					}
					fmt.Fprintf(w, "%s%s\t%s\t%d\t%s\t%s\t%s\n", kind, modeString(e.Mode), e.Owner, e.Size, versions,
						time.Unix(0, e.MTime).Format("2006-01-02 15:04:05"), name)
				}
				return w.Flush()
			})
		},
	}
	fsFlags(cmd)
	asOfFlags(cmd, false)
	cmd.Flags().BoolVarP(&long, "long", "l", false, "mode, owner, size, version and time of each entry")
	return cmd
}

// modeString renders permission bits as ls does.
func modeString(m uint32) string {
	const rwx = "rwxrwxrwx"
	b := []byte("---------")
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			b[i] = rwx[i]
		}
	}
	return string(b)
}

func statCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stat PATH",
		Short: "Describe a file or directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPath(cmd, args[0], func(ctx context.Context, c *client.Client, p string) error {
				info, err := c.Stat(ctx, p)
				if err != nil {
					return err
				}
				kind := "file"
				if info.Dir {
					kind = "directory"
				}
				fmt.Printf("path:     %s\ntype:     %s\nsize:     %d (%s)\nmode:     %s\nowner:    %s\n", p, kind, info.Size, humanBytes(int64(info.Size)), modeString(info.Mode), info.Owner)
				fmt.Printf("created:  %s\nmodified: %s\n", stamp(info.CTime), stamp(info.MTime))
				if !info.Dir {
					fmt.Printf("version:  %d of %d, manifest %s\n", info.Version.Number, info.Versions, info.Version.Ref)
				}
				return nil
			})
		},
	}
	fsFlags(cmd)
	asOfFlags(cmd, false)
	return cmd
}

func stamp(ns int64) string { return time.Unix(0, ns).Format(time.RFC3339Nano) }

func historyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history PATH",
		Short: "List every version of a file",
		Long: `history lists every version of the file at PATH, oldest first: its number,
commit time, size and writer. Read one with "puddle get --version V" or
"puddle cat --version V"; make one current again with "puddle restore".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPath(cmd, args[0], func(ctx context.Context, c *client.Client, p string) error {
				vs, err := c.History(ctx, p)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "VERSION\tTIME\tSIZE\tWRITER\tMANIFEST")
				for _, v := range vs {
					fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\n", v.Number, stamp(v.Time), v.Size, v.Writer, v.Ref.String()[:16])
				}
				return w.Flush()
			})
		},
	}
	fsFlags(cmd)
	asOfFlags(cmd, false)
	return cmd
}
