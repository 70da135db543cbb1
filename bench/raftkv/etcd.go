package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// errNoEtcd: --vs-etcd without an etcd binary.
var errNoEtcd = errors.New("etcd not found: install Debian's etcd-server (apt-get install etcd-server) or pass --etcd PATH")

// findEtcd returns the etcd binary and its version line.
func findEtcd(path string) (bin, version string, err error) {
	if path == "" {
		path = "etcd"
	}
	bin, err = exec.LookPath(path)
	if err != nil {
		return "", "", fmt.Errorf("%w (%v)", errNoEtcd, err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("%w: %s --version: %v", errNoEtcd, bin, err)
	}
	version, _, _ = strings.Cut(string(out), "\n")
	return bin, strings.TrimSpace(version), nil
}

// etcdCluster is three etcd member processes on loopback.
type etcdCluster struct {
	procs     []*proc
	endpoints []string // client URLs by member
	leader    int      // index of the leader when ready
}

// startEtcd starts a new 3-member cluster with etcd's default durability
// (its WAL is fsynced on every Raft Ready) and waits for a leader that
// commits a write.
func startEtcd(ctx context.Context, dir, bin string) (*etcdCluster, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	c := &etcdCluster{}
	var initial []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i+1, ports[2*i]))
		c.endpoints = append(c.endpoints, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]))
	}
	for i := range 3 {
		name := fmt.Sprintf("e%d", i+1)
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		args := []string{
			"--name", name,
			"--data-dir", filepath.Join(dir, name),
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--listen-client-urls", c.endpoints[i],
			"--advertise-client-urls", c.endpoints[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "raftkv-bench",
			"--logger", "zap",
			"--log-level", "error",
		}
		p, err := startProc(dir, "etcd-"+name, bin, args, etcdEnv())
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

func (c *etcdCluster) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cli, err := newEtcdClient(c.endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	c.leader, err = pollReady(ctx, "etcd", c.procs, 50*time.Millisecond, func(ctx context.Context) int { return c.agreedLeader(ctx, cli) },
		func(ctx context.Context) error { _, err := cli.Put(ctx, "bench/ready", "1"); return err })
	return err
}

// agreedLeader returns the index of the member all name as leader, or -1.
func (c *etcdCluster) agreedLeader(ctx context.Context, cli *clientv3.Client) int {
	var lead uint64
	idx := -1
	for i, ep := range c.endpoints {
		sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		st, err := cli.Status(sctx, ep)
		cancel()
		if err != nil || st.Leader == 0 || (lead != 0 && st.Leader != lead) {
			return -1
		}
		lead = st.Leader
		if st.Header.MemberId == st.Leader {
			idx = i
		}
	}
	return idx
}

// etcdEnv sets ETCD_UNSUPPORTED_ARCH where etcd 3.4 refuses to start
// without it; on the architectures it supports, it wants nothing.
func etcdEnv() []string {
	switch runtime.GOARCH {
	case "amd64", "arm64", "ppc64le", "s390x":
		return nil
	}
	return []string{"ETCD_UNSUPPORTED_ARCH=" + runtime.GOARCH}
}

func newEtcdClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
}

// etcdPuts dials conns clients to the leader's endpoint. Our client also
// sends every write to the leader (it follows leader hints), so etcd gets
// the same path and is spared a follower's forwarding hop.
func etcdPuts(c *etcdCluster, conns int) ([]putFunc, func(), error) {
	var puts []putFunc
	var clients []*clientv3.Client
	closeAll := func() {
		for _, cli := range clients {
			_ = cli.Close()
		}
	}
	for range conns {
		cli, err := newEtcdClient([]string{c.endpoints[c.leader]})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		clients = append(clients, cli)
		puts = append(puts, func(ctx context.Context, key string, value []byte) error {
			// The string conversion copies 256 bytes per op, as any
			// clientv3 user pays; it is small next to a round trip.
			_, err := cli.Put(ctx, key, string(value))
			return err
		})
	}
	return puts, closeAll, nil
}

// term returns the highest Raft term any member reports (0 if none answer).
func (c *etcdCluster) term(ctx context.Context) uint64 {
	cli, err := newEtcdClient(c.endpoints)
	if err != nil {
		return 0
	}
	defer cli.Close()
	var t uint64
	for _, ep := range c.endpoints {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		if st, err := cli.Status(sctx, ep); err == nil {
			t = max(t, st.RaftTerm)
		}
		cancel()
	}
	return t
}
