package wal

import (
	"errors"
	"io"
	"testing"
)

func TestMemFSReadAt(t *testing.T) {
	m := NewMemFS(1)
	m.MkdirAll("/d")
	big := make([]byte, chunkSize+100)
	for i := range big {
		big[i] = byte(i * 7)
	}
	f := writeFile(t, m, "/d/a", string(big), true)
	r, err := m.OpenReadAt("/d/a")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 200)
	if n, err := r.ReadAt(p, chunkSize-100); n != 200 || err != nil || string(p) != string(big[chunkSize-100:chunkSize+100]) {
		t.Fatalf("read across chunks: %d %v", n, err)
	}
	if n, err := r.ReadAt(p, chunkSize); n != 100 || err != io.EOF {
		t.Fatalf("short read at end: %d %v", n, err)
	}
	f.Write([]byte("tail")) // visible through the read handle
	if size, _ := r.Size(); size != int64(len(big)+4) {
		t.Fatalf("size %d", size)
	}
	m.Remove("/d/a")
	if _, err := r.ReadAt(p[:4], int64(len(big))); err != nil || string(p[:4]) != "tail" {
		t.Fatalf("read after remove: %v %q", err, p[:4])
	}
	m.Crash()
	if _, err := r.ReadAt(p, 0); !errors.Is(err, ErrCrashed) {
		t.Fatalf("read after crash: %v", err)
	}
}
