package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// proc is one child process (a PuddleStore node or an etcd member). Its
// output goes to a log file in the run's temp dir, shown when it fails.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when Wait returns
	waitErr error         // set before exited is closed
}

// procs holds every child this program started, so that a signal or a
// failure anywhere still ends each of them by its PID.
var procs struct {
	mu  sync.Mutex
	all []*proc // guarded by mu
}

// startProc starts bin with args, its output in dir/name.log. The child
// gets its own process group, so a Ctrl-C in the terminal reaches only this
// program, which then stops the child by PID; and it is killed if this
// program dies without cleaning up (Pdeathsig).
func startProc(dir, name, bin string, args []string, env []string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	procs.mu.Lock()
	procs.all = append(procs.all, p)
	procs.mu.Unlock()
	return p, nil
}

// stop ends the process by its PID: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// exitedEarly reports an error if the process is no longer running.
func (p *proc) exitedEarly() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s (pid %d) exited: %v; log %s:\n%s", p.name, p.cmd.Process.Pid, p.waitErr, p.logPath, tail(p.logPath, 2000))
	default:
		return nil
	}
}

// stopAll stops every child still running, in parallel.
func stopAll(grace time.Duration) {
	procs.mu.Lock()
	all := procs.all
	procs.all = nil
	procs.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(grace) }()
	}
	wg.Wait()
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

// freePorts returns n distinct free TCP ports on 127.0.0.1. They are free
// when returned; a process that grabs one first makes the start fail
// clearly, not silently.
func freePorts(n int) ([]int, error) {
	var out []int
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		closers = append(closers, l.Close)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// pollReady polls until leader names a leader all members agree on and a
// probe write then commits, a child exits, or ctx ends. name is for the
// error.
func pollReady(ctx context.Context, name string, children []*proc, every time.Duration, leader func(context.Context) int, probe func(context.Context) error) (int, error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, p := range children {
			if err := p.exitedEarly(); err != nil {
				return -1, err
			}
		}
		if l := leader(ctx); l >= 0 {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := probe(pctx)
			cancel()
			if err == nil {
				return l, nil
			}
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("%s cluster not ready: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}
