package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/puddlestore/puddlestore/bench/machine"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
)

// measure runs the phases against the cluster and fills in f.
func measure(ctx context.Context, o options, cl *cluster, wantSum []byte, f *figures) error {
	dial := func() (*client.Client, error) {
		return client.DialOptions(client.Options{User: "bench", TempDir: o.dir}, cl.addrs...)
	}
	var cs []*client.Client
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for range max(o.clients, 2) {
		c, err := dial()
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	writer, reader := cs[0], cs[1]
	phase := func(name string) (context.Context, func(), error) {
		pctx, cancel := context.WithTimeout(ctx, o.timeout)
		stop, err := machine.StartCPUProfile(profilePath(o.cpuprofile, name))
		if err != nil {
			cancel()
			return nil, nil, err
		}
		stopTrace, err := machine.StartTrace(profilePath(o.trace, name))
		if err != nil {
			stop()
			cancel()
			return nil, nil, err
		}
		return pctx, func() { stopTrace(); stop(); cancel() }, nil
	}

	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := writer.MkdirAll(sctx, "/bench")
	var before stored
	if err == nil {
		before, err = storedSettled(sctx, writer, 10*time.Second)
	}
	cancel()
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	f.reportedR, f.nodes = before.replicas, before.nodes

	mib := float64(o.size) / (1 << 20)
	fmt.Printf("put: %.0f MiB to %s...\n", mib, bigPath)
	pctx, done, err := phase("put")
	if err != nil {
		return err
	}
	start := time.Now()
	_, st, err := writer.WriteFile(pctx, bigPath, newStream(o.seed, o.size), fsys.WriteOptions{})
	f.put = mib / time.Since(start).Seconds()
	done()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	f.putChunks = st.Chunks
	afterPut, err := storedSettled(ctx, writer, 10*time.Second)
	if err != nil {
		return err
	}
	f.putCopies = float64(afterPut.bytes-before.bytes) / float64(o.size)

	fmt.Println("get: reading it back through a second client...")
	if pctx, done, err = phase("get"); err != nil {
		return err
	}
	start = time.Now()
	got := sha256.New()
	file, err := reader.OpenVersion(pctx, bigPath, 0)
	var n int64
	if err == nil {
		n, err = io.CopyBuffer(got, file, make([]byte, 1<<20))
		file.Close()
	}
	f.get = mib / time.Since(start).Seconds()
	done()
	switch {
	case err != nil:
		return fmt.Errorf("get: %w", err)
	case n != o.size:
		return fmt.Errorf("get: read %d bytes, wrote %d", n, o.size)
	case !bytes.Equal(got.Sum(nil), wantSum):
		return fmt.Errorf("get: WRONG CONTENT: SHA-256 %x, wrote %x", got.Sum(nil), wantSum)
	}

	fmt.Printf("small files: %d of %d bytes from %d clients...\n", o.smallFiles, o.smallBytes, o.clients)
	if pctx, done, err = phase("small"); err != nil {
		return err
	}
	small, err := putSmall(pctx, cs[:o.clients], o.seed, o.smallFiles, o.smallBytes)
	done()
	if err != nil {
		return fmt.Errorf("small files: %w", err)
	}
	f.small, f.smallP50, f.smallP99 = small.perSecond(), small.percentile(0.50), small.percentile(0.99)

	fmt.Println("stat: every small file...")
	if pctx, done, err = phase("stat"); err != nil {
		return err
	}
	stats, err := statSmall(pctx, cs[:o.clients], o.smallFiles, o.smallBytes)
	done()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	f.stat, f.statP50, f.statP99 = stats.perSecond(), stats.percentile(0.50), stats.percentile(0.99)

	editLen := min(int64(1<<20), o.size)
	editOff := o.size/2 - editLen/2
	edited := newStream(o.seed, o.size).edited(editOff, editLen)
	fmt.Printf("edit: putting it again with bytes [%d, %d) changed...\n", editOff, editOff+editLen)
	beforeEdit, err := storedSettled(ctx, writer, 10*time.Second)
	if err != nil {
		return err
	}
	if pctx, done, err = phase("edit"); err != nil {
		return err
	}
	start = time.Now()
	_, st, err = writer.WriteFile(pctx, bigPath, edited, fsys.WriteOptions{})
	f.editPut = mib / time.Since(start).Seconds()
	done()
	if err != nil {
		return fmt.Errorf("edited re-put: %w", err)
	}
	afterEdit, err := storedSettled(ctx, writer, 10*time.Second)
	if err != nil {
		return err
	}
	f.editNew = float64(afterEdit.bytes-beforeEdit.bytes) / float64(o.replicas) / (1 << 20)
	f.editNewBlocks = float64(afterEdit.blocks-beforeEdit.blocks) / float64(o.replicas)
	f.editUploaded = float64(st.ChunkBytes) / (1 << 20)
	f.editManifests = float64(st.ManifestBytes) / (1 << 10)
	if err := checkEdit(ctx, reader, edited, editOff, editLen, o.size); err != nil {
		return err
	}

	if !o.breakdown {
		return nil
	}
	fmt.Println("breakdown: the steps of a put, timed one by one...")
	if pctx, done, err = phase("breakdown"); err != nil {
		return err
	}
	f.bd, err = runBreakdown(pctx, cs[:o.clients], o.seed, min(o.smallFiles, 2000), o.smallBytes)
	done()
	return err
}

// checkEdit reads the new version around the edit, and its size.
func checkEdit(ctx context.Context, c *client.Client, edited *stream, off, n, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	file, err := c.OpenVersion(ctx, bigPath, 0)
	if err != nil {
		return fmt.Errorf("edit: %w", err)
	}
	defer file.Close()
	if file.Size() != size {
		return fmt.Errorf("edit: the new version holds %d bytes, want %d", file.Size(), size)
	}
	lo, hi := max(0, off-1<<20), min(size, off+n+1<<20)
	got, want := make([]byte, hi-lo), make([]byte, hi-lo)
	if _, err := file.ReadAt(got, lo); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("edit: read back: %w", err)
	}
	_, _ = edited.ReadAt(want, lo)
	if !bytes.Equal(got, want) {
		return fmt.Errorf("edit: WRONG CONTENT in [%d, %d) of the new version", lo, hi)
	}
	return nil
}
