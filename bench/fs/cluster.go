package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

// The dev cluster's shape, as `puddle dev` runs it by default.
const (
	metaVoters   = 3
	storageNodes = 5
)

// cluster is the dev cluster under test: a `puddle dev` child process, or
// (--in-process) the same node.StartLocal in this process.
type cluster struct {
	addrs []string // metadata client addresses

	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the child's Wait returns
	waitErr error         // set before exited is closed

	local *node.Local
}

// buildPuddle compiles ./cmd/puddle of the module this command belongs to
// (found with `go env GOMOD` from the working directory) into dir.
func buildPuddle(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the puddlestore module: run from the repository, or pass --puddle")
	}
	bin := filepath.Join(dir, "puddle")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/puddle")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/puddle in %s: %w\n%s", cmd.Dir, err, out)
	}
	return bin, nil
}

// checkPorts fails unless every port the dev cluster at base would listen
// on is free: clients base+1.., peers base+101.., storage base+201...
func checkPorts(base int) error {
	var offs []int
	for i := 1; i <= metaVoters; i++ {
		offs = append(offs, i, 100+i)
	}
	for i := 1; i <= storageNodes; i++ {
		offs = append(offs, 200+i)
	}
	for _, o := range offs {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+o))
		if err != nil {
			return fmt.Errorf("port %d (--port %d + %d) is taken; pick another --port: %w", base+o, base, o, err)
		}
		l.Close()
	}
	return nil
}

// startDev starts `bin dev` with its data in data and waits, at most
// limit, for it to print its cluster address. Its output goes to logPath.
// The child gets its own process group, so a Ctrl-C in the terminal reaches
// only this program, which stops the child by its PID; and it is killed
// if this program dies without doing so (Pdeathsig).
func startDev(ctx context.Context, bin, data, logPath string, port, replicas int, overlayKind string, limit time.Duration) (*cluster, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "dev", "--data", data, "--port", strconv.Itoa(port),
		"--nodes", strconv.Itoa(storageNodes), "--meta-voters", strconv.Itoa(metaVoters), "--replicas", strconv.Itoa(replicas), "--overlay", overlayKind, "--http", "")
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s dev: %w", bin, err)
	}
	c := &cluster{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	addrs := make(chan []string, 1)
	// The child's stdout is copied to the log for as long as it runs, so
	// it never blocks on a full pipe.
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if a, ok := strings.CutPrefix(line, "Cluster address: "); ok {
				select {
				case addrs <- strings.Split(strings.TrimSpace(a), ","):
				default:
				}
			}
		}
		_, _ = io.Copy(logf, stdout)
		c.waitErr = cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case c.addrs = <-addrs:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("puddle dev (pid %d) exited before it was up: %v; its log %s:\n%s", cmd.Process.Pid, c.waitErr, logPath, tail(logPath, 3000))
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("puddle dev printed no cluster address within %v; its log %s:\n%s", limit, logPath, tail(logPath, 3000))
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// startLocal runs the dev cluster in this process: node.StartLocal with the
// configuration `puddle dev` gives it.
func startLocal(ctx context.Context, data string, port, replicas int, overlayKind string, limit time.Duration) (*cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	l, err := node.StartLocal(ctx, node.LocalConfig{
		Dir: data, MetaVoters: metaVoters, StorageNodes: storageNodes, BasePort: port,
		Blocks: blocks.Config{Replicas: replicas}, Overlay: overlay.Options{Kind: overlayKind},
	})
	if err != nil {
		return nil, err
	}
	return &cluster{addrs: l.MetaAddrs(), local: l}, nil
}

// alive reports an error if the child has exited.
func (c *cluster) alive() error {
	if c.cmd == nil {
		return nil
	}
	select {
	case <-c.exited:
		return fmt.Errorf("puddle dev (pid %d) exited: %v; its log %s:\n%s", c.cmd.Process.Pid, c.waitErr, c.logPath, tail(c.logPath, 3000))
	default:
		return nil
	}
}

// stop ends the cluster: the child by its PID, SIGTERM and then SIGKILL if
// it has not exited within 10s.
func (c *cluster) stop() {
	if c.local != nil {
		if err := c.local.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bench/fs: closing the cluster:", err)
		}
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	pid := c.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-c.exited:
	case <-timer.C:
		fmt.Fprintf(os.Stderr, "bench/fs: puddle dev (pid %d) still running 10s after SIGTERM; killing it\n", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-c.exited
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// stored is what the storage nodes hold durably, summed over them.
type stored struct {
	blocks, bytes int64
	replicas      int // R as the nodes report it
	nodes         int
}

// storedNow reads every storage node's block status. The nodes are the
// ones registered with RoleBlocks.
func storedNow(ctx context.Context, c *client.Client) (stored, error) {
	ns, err := c.Meta().Nodes(ctx)
	if err != nil {
		return stored{}, fmt.Errorf("list nodes: %w", err)
	}
	var s stored
	for _, n := range ns {
		if n.Roles&meta.RoleBlocks == 0 {
			continue
		}
		r, err := blocks.Dial(n.Addr)
		if err != nil {
			return stored{}, err
		}
		st, err := r.Status(ctx)
		r.Close()
		if err != nil {
			return stored{}, fmt.Errorf("status of storage node %s: %w", n.Addr, err)
		}
		s.blocks += st.Blocks
		s.bytes += st.Bytes
		s.replicas = st.Replicas
		s.nodes++
	}
	if s.nodes == 0 {
		return stored{}, errors.New("no storage node is registered")
	}
	return s, nil
}

// storedSettled reads storedNow until two reads 250ms apart agree (copies
// still being made after a put returned would show as a change), for at
// most limit; then it returns the last read.
func storedSettled(ctx context.Context, c *client.Client, limit time.Duration) (stored, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	prev, err := storedNow(ctx, c)
	if err != nil {
		return prev, err
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return prev, nil
		case <-tick.C:
		}
		s, err := storedNow(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return prev, nil
			}
			return s, err
		}
		if s == prev {
			return s, nil
		}
		prev = s
	}
}
