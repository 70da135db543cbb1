package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

// These tests run real `puddle tapestry node` processes on loopback and
// drive them with the CLI.

// tapNodeArgs: 20ms ticks, heartbeats every 200ms, a neighbour silent for
// 1s is dead, so a killed node is noticed in 1-2s.
var tapNodeArgs = []string{"--tick", "20ms", "--heartbeat-ticks", "10", "--failure-ticks", "50", "--request-ticks", "25"}

type tapNode struct {
	cmd  *exec.Cmd
	self overlay.Peer
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// startTapNode starts a node and waits (bounded) for the line it prints
// once it has joined.
func startTapNode(t *testing.T, bin string, join transport.Addr) *tapNode {
	t.Helper()
	args := append([]string{"tapestry", "node", "--listen", testenv.FreeAddr(t)}, tapNodeArgs...)
	if join != "" {
		args = append(args, "--join", string(join))
	}
	return startNodeProcess(t, bin, "tapestry", args...)
}

// startNodeProcess starts `puddle args...`, a node command that prints
// "KIND node ID at ADDR: ..." once it is part of the mesh, and waits
// (bounded) for that line.
func startNodeProcess(t *testing.T, bin, kind string, args ...string) *tapNode {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &tapNode{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() { n.kill() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, out)
		n.err = cmd.Wait()
		close(n.done)
	}()
	select {
	case line := <-lines:
		// "KIND node ID at ADDR: ..."
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != kind || f[1] != "node" || f[3] != "at" {
			t.Fatalf("unexpected first line %q", line)
		}
		x, err := id.Parse(f[2])
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		n.self = overlay.Peer{ID: x, Addr: transport.Addr(strings.TrimSuffix(f[4], ":"))}
	case <-n.done:
		t.Fatalf("node %v exited before joining: %v", args, n.err)
	case <-time.After(20 * time.Second):
		// A goroutine dump on its stderr says where it is stuck.
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
		<-n.done
		t.Fatalf("node %v did not join within 20s", args)
	}
	return n
}

// kill sends SIGKILL to the node's process (by its PID) and waits for it.
func (n *tapNode) kill() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = syscall.Kill(n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.done
}

// puddle runs the binary and returns its stdout, stderr and exit code.
func puddle(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	t.Fatalf("puddle %v: %v", args, err)
	return "", "", -1
}

func TestTapestryProcessesSurviveKill9(t *testing.T) {
	bin := buildBinary(t)
	begin := time.Now()
	const n = 8
	var nodes []*tapNode
	for i := range n {
		var join transport.Addr
		if i > 0 {
			join = nodes[(i*5)%i].self.Addr // joins through different nodes
		}
		nodes = append(nodes, startTapNode(t, bin, join))
	}
	t.Logf("%d nodes joined in %v", n, time.Since(begin).Round(time.Millisecond))

	// 20 objects, each published by two different nodes through the CLI.
	const objects = 20
	victim := 1
	holders := map[string][2]int{}
	for k := range objects {
		name := fmt.Sprintf("object-%d", k)
		a, b := k%n, (k+3)%n
		holders[name] = [2]int{a, b}
		for _, h := range []int{a, b} {
			out, errOut, code := puddle(t, bin, "tapestry", "publish", "--node", string(nodes[h].self.Addr), "--string", name)
			if code != 0 || !strings.HasPrefix(out, "published ") {
				t.Fatalf("publish %s at node %d: exit %d: %s%s", name, h, code, out, errOut)
			}
		}
	}
	t.Logf("%d objects published twice by %v", objects, time.Since(begin).Round(time.Millisecond))

	// A locate through the CLI finds a publisher.
	out, errOut, code := puddle(t, bin, "tapestry", "locate", "--node", string(nodes[5].self.Addr), "--string", "object-1")
	if code != 0 || !strings.Contains(out, string(nodes[1].self.Addr)) && !strings.Contains(out, string(nodes[4].self.Addr)) {
		t.Fatalf("locate object-1: exit %d: %s%s", code, out, errOut)
	}

	nodes[victim].kill()
	killedAt := time.Now()
	dead := nodes[victim].self

	// Every object is found from every survivor, with a live holder.
	clients := map[int]*overlay.Client{}
	for i, x := range nodes {
		if i == victim {
			continue
		}
		c, err := overlay.Dial(string(x.self.Addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	waitLocated := func(phase string) {
		t.Helper()
		for round := 1; ; round++ {
			var missing []string
			deadFirst := 0
			for name := range holders {
				key := id.Hash([]byte(name))
				for i, c := range clients {
					lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
					hs, err := c.Locate(lctx, key)
					lcancel()
					live := false
					for _, h := range hs {
						live = live || h != dead
					}
					if len(hs) > 0 && hs[0] == dead {
						deadFirst++
					}
					if err != nil || !live {
						missing = append(missing, fmt.Sprintf("%s from node %d: %v %v", name, i, hs, err))
					}
				}
			}
			if len(missing) == 0 {
				t.Logf("%s: round %d, %v after the kill: all %d objects located from all %d survivors with a live holder (%d answers named the dead node first)",
					phase, round, time.Since(killedAt).Round(time.Millisecond), objects, len(clients), deadFirst)
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: after %v, %d locates still fail, e.g.:\n  %s", phase, time.Since(killedAt), len(missing), strings.Join(missing[:min(5, len(missing))], "\n  "))
			case <-tick.C:
			}
		}
	}
	waitLocated("right after the kill")

	// The survivors' tables drop the dead node (failure detection).
	for i := range nodes {
		if i == victim {
			continue
		}
		for {
			out, errOut, code := puddle(t, bin, "tapestry", "table", "--node", string(nodes[i].self.Addr))
			if code != 0 || !strings.Contains(out, "LEVEL") || !strings.Contains(out, nodes[i].self.ID.String()) {
				t.Fatalf("table of node %d: exit %d: %s%s", i, code, out, errOut)
			}
			if !strings.Contains(out, string(dead.Addr)) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("node %d still lists the dead node:\n%s", i, out)
			case <-tick.C:
			}
		}
	}
	t.Logf("every table dropped the dead node %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	waitLocated("after failure detection")

	// Routes to one key from every survivor end at the same root, the one
	// the overlay names responsible.
	key := id.Hash([]byte("route-key"))
	roots, err := clients[0].Responsible(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range clients {
		out, errOut, code := puddle(t, bin, "tapestry", "route", "--node", string(nodes[i].self.Addr), key.String())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) < 3 || !strings.HasPrefix(lines[0], "route to "+key.String()) {
			t.Fatalf("route from node %d: exit %d: %s%s", i, code, out, errOut)
		}
		first, last := strings.Fields(lines[2]), strings.Fields(lines[len(lines)-1])
		if first[1] != nodes[i].self.ID.String() || last[1] != roots[0].ID.String() || last[len(last)-1] != "root" {
			t.Fatalf("route from node %d does not start there or end at %s:\n%s", i, roots[0].ID, out)
		}
	}

	// Errors: unknown object, a dead node, bad input.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"locate", "--node", string(nodes[0].self.Addr), "--string", "never published"}, exitNotFound},
		{[]string{"locate", "--node", string(dead.Addr), "--string", "object-1", "--timeout", "2s"}, exitUnavailable},
		{[]string{"route", "--node", string(nodes[0].self.Addr), "not-a-key"}, exitUsage},
		{[]string{"route", "--node", string(nodes[0].self.Addr)}, exitUsage},
		{[]string{"table"}, exitUsage},
		{[]string{"node", "--listen", "nowhere"}, exitUsage},
	} {
		out, errOut, code := puddle(t, bin, append([]string{"tapestry"}, tc.args...)...)
		if code != tc.code || !strings.HasPrefix(errOut, "puddle: ") || strings.Contains(errOut, "panic") {
			t.Errorf("puddle tapestry %v: exit %d (want %d): %s%s", tc.args, code, tc.code, out, errOut)
		}
	}

	// SIGTERM: the node leaves gracefully and exits 0.
	last := nodes[n-1]
	_ = syscall.Kill(last.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-last.done:
		if last.err != nil {
			t.Errorf("node after SIGTERM: %v", last.err)
		}
	case <-time.After(10 * time.Second):
		t.Error("node did not exit within 10s of SIGTERM")
	}
	t.Logf("total %v", time.Since(begin).Round(time.Millisecond))
}
