package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/puddlestore/puddlestore/node/kvclient"
)

// cluster is three running member processes and how to reach them.
type cluster struct {
	procs       []*proc
	clientAddrs []string // by member, 1..3
	leader      int      // index into procs of the leader when ready
}

// buildPuddle compiles cmd/puddle of the repo at repo into dir, once, the
// way a user builds it.
func buildPuddle(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "bin", "puddle")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/puddle")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/puddle in %s: %w\n%s", repo, err, out)
	}
	return bin, nil
}

// repoDir finds the PuddleStore module this program was built against (the
// replace directive in go.mod points it at the working tree).
func repoDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/puddlestore/puddlestore").Output()
	if err != nil {
		return "", fmt.Errorf("locate the puddlestore module (run from bench/raftkv, or pass --repo): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// startPuddle starts a 3-voter cluster, one `puddle node` process per
// member, data under dir, and waits until it has a leader that commits.
// With profileDir set, each member instead runs this program's own node
// mode (the same node.Start) and writes a CPU profile there on SIGTERM.
func startPuddle(ctx context.Context, dir, bin, profileDir string) (*cluster, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	c := &cluster{}
	var spec []string
	for i := range 3 {
		peer := fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		client := fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
		spec = append(spec, fmt.Sprintf("%d=%s/%s", i+1, peer, client))
		c.clientAddrs = append(c.clientAddrs, client)
	}
	for i := range 3 {
		id := i + 1
		data := filepath.Join(dir, fmt.Sprintf("node%d", id))
		args := []string{"kv", "node", "--id", fmt.Sprint(id), "--data", data, "--bootstrap", "--cluster", strings.Join(spec, ",")}
		exe := bin
		if profileDir != "" {
			if exe, err = os.Executable(); err != nil {
				return nil, err
			}
			args = append([]string{nodeModeArg, "--cpuprofile", filepath.Join(profileDir, fmt.Sprintf("node%d.pprof", id))}, args[1:]...)
		}
		p, err := startProc(dir, fmt.Sprintf("puddle-node%d", id), exe, args, nil)
		if err != nil {
			return nil, err
		}
		c.procs = append(c.procs, p)
	}
	if err := c.waitReady(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	return c, nil
}

// waitReady polls every member's status until all agree on one leader,
// then checks that a write commits.
func (c *cluster) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	kc, err := kvclient.Dial(c.clientAddrs...)
	if err != nil {
		return err
	}
	defer kc.Close()
	c.leader, err = pollReady(ctx, "puddlestore", c.procs, 20*time.Millisecond, func(ctx context.Context) int { return c.agreedLeader(ctx, kc) },
		func(ctx context.Context) error { return kc.Put(ctx, "bench/ready", []byte("1")) })
	return err
}

// agreedLeader returns the index of the leader all members name, or -1.
func (c *cluster) agreedLeader(ctx context.Context, kc *kvclient.Client) int {
	var lead uint64
	for _, addr := range c.clientAddrs {
		sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		st, err := kc.Status(sctx, addr)
		cancel()
		if err != nil || st.Leader == 0 || (lead != 0 && st.Leader != lead) {
			return -1
		}
		lead = st.Leader
	}
	return int(lead) - 1
}

// puddlePuts dials conns independent clients (each one gRPC connection per
// member) for the load's goroutines to share.
func puddlePuts(c *cluster, conns int) ([]putFunc, func(), error) {
	var puts []putFunc
	var clients []*kvclient.Client
	closeAll := func() {
		for _, kc := range clients {
			_ = kc.Close()
		}
	}
	for range conns {
		kc, err := kvclient.Dial(c.clientAddrs...)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		clients = append(clients, kc)
		puts = append(puts, kc.Put)
	}
	return puts, closeAll, nil
}

// term returns the highest Raft term any member reports (0 if none answer).
func (c *cluster) term(ctx context.Context) uint64 {
	kc, err := kvclient.Dial(c.clientAddrs...)
	if err != nil {
		return 0
	}
	defer kc.Close()
	var t uint64
	for _, addr := range c.clientAddrs {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		if st, err := kc.Status(sctx, addr); err == nil {
			t = max(t, st.Term)
		}
		cancel()
	}
	return t
}
