package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/node/kvclient"
)

// These tests run the real binary: three `puddle node` processes on
// loopback, killed with SIGKILL and restarted.

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "puddle")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

type procCluster struct {
	t       *testing.T
	bin     string
	cluster string
	clients []string
	dirs    []string
	procs   []*proc
}

func (pc *procCluster) start(i int) {
	pc.t.Helper()
	cmd := exec.Command(pc.bin, "kv", "node", "--id", fmt.Sprint(i+1), "--data", pc.dirs[i], "--bootstrap", "--cluster", pc.cluster)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		pc.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	pc.procs[i] = p
}

// kill sends SIGKILL to node i's process (by its PID) and waits for it.
func (pc *procCluster) kill(i int) {
	p := pc.procs[i]
	if p == nil {
		return
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	pc.procs[i] = nil
}

func newProcCluster(t *testing.T, n int) *procCluster {
	bin := buildBinary(t)
	pc := &procCluster{t: t, bin: bin, procs: make([]*proc, n)}
	var parts []string
	base := t.TempDir()
	for i := range n {
		c := testenv.FreeAddr(t)
		parts = append(parts, fmt.Sprintf("%d=%s/%s", i+1, testenv.FreeAddr(t), c))
		pc.clients = append(pc.clients, c)
		pc.dirs = append(pc.dirs, filepath.Join(base, fmt.Sprint("n", i+1)))
	}
	pc.cluster = strings.Join(parts, ",")
	for i := range n {
		pc.start(i)
	}
	t.Cleanup(func() {
		for i := range pc.procs {
			pc.kill(i)
		}
	})
	return pc
}

// leader asks every node and returns the index of the one that leads.
func (pc *procCluster) leader(c *kvclient.Client) int {
	for i, a := range pc.clients {
		if pc.procs[i] == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := c.Status(ctx, a)
		cancel()
		if err == nil && st.Role == "leader" {
			return i
		}
	}
	return -1
}

func TestProcessesSurviveKill9(t *testing.T) {
	pc := newProcCluster(t, 3)
	c, err := kvclient.Dial(pc.clients...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	acked := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("value-%d-%d", w, i)
				if err := c.Put(ctx, k, []byte(v)); err != nil {
					t.Errorf("put %s: %v", k, err)
					return
				}
				mu.Lock()
				acked[k] = v
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitCount := func(n int) {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for count() < n {
			select {
			case <-ctx.Done():
				t.Fatalf("writes stalled at %d (want %d)", count(), n)
			case <-tick.C:
			}
		}
	}
	waitCount(200)
	// Kill the leader mid-write, then a follower, restarting each.
	var l int
	for l = pc.leader(c); l < 0; l = pc.leader(c) {
		select {
		case <-ctx.Done():
			t.Fatal("no leader")
		case <-time.After(20 * time.Millisecond):
		}
	}
	pc.kill(l)
	waitCount(count() + 200) // the others elect a leader and go on
	pc.start(l)
	f := (l + 1) % 3
	pc.kill(f)
	waitCount(count() + 200)
	pc.start(f)
	waitCount(count() + 200)
	close(stop)
	wg.Wait()

	for k, v := range acked {
		got, ok, err := c.Get(ctx, k)
		if err != nil || !ok || string(got) != v {
			t.Fatalf("acknowledged write %s=%s: got %q found=%v err=%v", k, v, got, ok, err)
		}
	}
	t.Logf("%d acknowledged writes all read back after kill -9 of the leader and a follower", len(acked))
}
