package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
)

func putCmd() *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "put [-r] LOCAL REMOTE",
		Short: "Store a local file (or with -r a directory) in the cluster",
		Long: `put stores LOCAL ("-" for stdin) at the absolute path REMOTE, as a new version
if the file exists. When REMOTE is an existing directory or ends in "/",
the file goes inside it under its own name; missing directories above the
file are made. With -r, LOCAL is a directory
copied with everything under it. The new version is committed once all its
blocks are stored on the cluster; a failed put leaves the file as it was.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			local, remote := args[0], args[1]
			return withFS(cmd, func(ctx context.Context, c *client.Client) error {
				dest, err := putTarget(ctx, c, local, remote)
				if err != nil {
					return err
				}
				if recursive {
					return putTree(ctx, c, local, dest)
				}
				return putFile(ctx, c, local, dest, os.Stdout)
			})
		},
	}
	fsFlags(cmd)
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "copy a directory and everything under it")
	return cmd
}

// putTarget resolves REMOTE: inside it when it is a directory.
func putTarget(ctx context.Context, c *client.Client, local, remote string) (string, error) {
	into := strings.HasSuffix(remote, "/") && remote != "/"
	dest, err := remotePath(remote)
	if err != nil {
		return "", err
	}
	if !into {
		info, err := c.Stat(ctx, dest)
		into = err == nil && info.Dir
	}
	if dest == "/" || into {
		if local == "-" {
			return "", fmt.Errorf("%w: put from stdin needs a file name, not the directory %s", errUsage, dest)
		}
		dest = path.Join(dest, filepath.Base(local))
	}
	return dest, nil
}

// putFile stores local ("-": stdin) at dest and reports the new version
// on out.
func putFile(ctx context.Context, c *client.Client, local, dest string, out io.Writer) error {
	in := io.Reader(os.Stdin)
	var size int64 = -1
	if local != "-" {
		f, err := os.Open(local)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.IsDir() {
			return fmt.Errorf("%w: %s is a directory (puddle put -r copies directories)", errUsage, local)
		}
		in, size = f, st.Size()
	}
	// Like object stores' copy commands, put makes the directories above
	// the file (an existing one is no error).
	if dir := path.Dir(dest); dir != "/" {
		if err := c.MkdirAll(ctx, dir); err != nil {
			return err
		}
	}
	p := newProgress("put "+dest, size)
	v, stats, err := c.WriteFile(ctx, dest, p.reader(in), fsys.WriteOptions{})
	p.done()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s: version %d, %s%s\n", dest, v.Number, humanBytes(int64(v.Size)), chunksNote(stats.Chunks))
	return err
}

// chunksNote says how a file's content was stored.
func chunksNote(chunks int) string {
	switch chunks {
	case 0:
		return ", inline in its manifest"
	case 1:
		return " in 1 chunk"
	}
	return fmt.Sprintf(" in %d chunks", chunks)
}

// putTree copies a local directory tree, files by several workers.
func putTree(ctx context.Context, c *client.Client, local, dest string) error {
	if err := c.MkdirAll(ctx, dest); err != nil {
		return err
	}
	type job struct{ from, to string }
	var jobs []job
	err := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		to := path.Join(dest, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			if rel != "." {
				return c.MkdirAll(ctx, to)
			}
		case d.Type().IsRegular():
			jobs = append(jobs, job{p, to})
		}
		return nil
	})
	if err != nil {
		return err
	}
	var next atomic.Int64
	errs := make(chan error, 8)
	for range min(8, len(jobs)) {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					errs <- nil
					return
				}
				f, err := os.Open(jobs[i].from)
				if err == nil {
					_, _, err = c.WriteFile(ctx, jobs[i].to, f, fsys.WriteOptions{})
					f.Close()
				}
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", jobs[i].from, err)
					return
				}
			}
		}()
	}
	var first error
	for range min(8, len(jobs)) {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		fmt.Printf("%s: %d files\n", dest, len(jobs))
	}
	return first
}

// progress prints a progress bar on stderr while bytes flow, when stderr
// is a terminal and the transfer is big enough to be worth one.
type progress struct {
	what  string
	total int64
	n     atomic.Int64
	stop  chan struct{}
	quit  chan struct{}
}

func newProgress(what string, total int64) *progress {
	p := &progress{what: what, total: total}
	if !isTerminal(os.Stderr) || (total >= 0 && total < 8<<20) {
		return p
	}
	p.stop, p.quit = make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(p.quit)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-t.C:
				n := p.n.Load()
				rate := float64(n) / time.Since(start).Seconds()
				if p.total > 0 {
					fmt.Fprintf(os.Stderr, "\r\033[K%s: %s / %s (%d%%) %s/s", p.what, humanBytes(n), humanBytes(p.total), n*100/p.total, humanBytes(int64(rate)))
				} else {
					fmt.Fprintf(os.Stderr, "\r\033[K%s: %s %s/s", p.what, humanBytes(n), humanBytes(int64(rate)))
				}
			}
		}
	}()
	return p
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.n.Add(int64(n))
	return n, err
}

func (p *progress) reader(r io.Reader) io.Reader { return countingReader{r, p} }

type countingWriter struct {
	w io.Writer
	p *progress
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.n.Add(int64(n))
	return n, err
}

func (p *progress) writer(w io.Writer) io.Writer { return countingWriter{w, p} }

func (p *progress) done() {
	if p.stop != nil {
		close(p.stop)
		<-p.quit
	}
}
