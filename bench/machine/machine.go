// Package machine measures what this machine can do, so that benchmarks
// print their figures beside the limits the hardware sets: SHA-256 on one
// core, sequential write + fdatasync, and TCP over loopback.
package machine

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"
)

// SHA256Rate is one core's SHA-256 throughput in MiB/s over 1 MiB buffers,
// measured for d.
func SHA256Rate(d time.Duration) float64 {
	buf := make([]byte, 1<<20)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		sha256.Sum256(buf)
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

// SyncWriteRate appends chunk-byte writes to a file in dir, each followed
// by fdatasync, for d, and returns MiB/s.
func SyncWriteRate(dir string, chunk int, d time.Duration) (float64, error) {
	path := filepath.Join(dir, "fsync-probe")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n*chunk) / (1 << 20) / time.Since(start).Seconds(), nil
}

// LoopbackTCPRate streams bytes over one TCP connection on 127.0.0.1 for d
// and returns MiB/s.
func LoopbackTCPRate(d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- 0
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for time.Since(start) < d {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, err
		}
	}
	c.Close()
	n := <-got
	return float64(n) / (1 << 20) / time.Since(start).Seconds(), nil
}

// RandomBytes returns n bytes from rng (incompressible, and distinct per
// call, so every block has its own ref).
func RandomBytes(rng *rand.Rand, n int) []byte {
	data := make([]byte, n)
	for j := 0; j+8 <= n; j += 8 {
		v := rng.Uint64()
		for k := range 8 {
			data[j+k] = byte(v >> (8 * k))
		}
	}
	return data
}

// StartCPUProfile writes a CPU profile to path until the returned stop is
// called; an empty path profiles nothing.
func StartCPUProfile(path string) (stop func(), err error) {
	return startToFile(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// StartTrace writes an execution trace to path until the returned stop is
// called; an empty path traces nothing. Where the CPU is mostly idle, as
// when puts wait on fsyncs and round trips, `go tool trace -pprof=syscall`
// (or sync, net, sched) shows where the waiting is.
func StartTrace(path string) (stop func(), err error) {
	return startToFile(path, trace.Start, trace.Stop)
}

// startToFile runs start on a new file at path until the returned stop
// calls end and closes it.
func startToFile(path string, start func(io.Writer) error, end func()) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		end()
		f.Close()
	}, nil
}
