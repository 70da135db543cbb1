package main

import (
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// fsyncRate measures the disk bound every durable write pays: 4 KiB
// appended then fdatasync'd, in a loop, in dir, for d.
func fsyncRate(dir string, d time.Duration) (perSec float64, mean time.Duration, err error) {
	path := filepath.Join(dir, "fsync-probe")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(buf); err != nil {
			return 0, 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, 0, err
		}
		n++
	}
	el := time.Since(start)
	return float64(n) / el.Seconds(), el / time.Duration(max(n, 1)), nil
}
