package main

import (
	"bytes"
	"io"
	"testing"
)

func TestStream(t *testing.T) {
	const size = 3*genBlock + 12345
	whole, err := io.ReadAll(newStream(7, size))
	if err != nil || len(whole) != size {
		t.Fatalf("ReadAll: %d bytes, %v", len(whole), err)
	}
	// Odd-sized reads give the same bytes.
	s, got := newStream(7, size), make([]byte, 0, size)
	buf := make([]byte, 99991)
	for {
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	if !bytes.Equal(got, whole) {
		t.Fatal("reads in pieces differ from one read")
	}
	if other, _ := io.ReadAll(newStream(8, size)); bytes.Equal(other, whole) {
		t.Fatal("another seed gives the same bytes")
	}

	// The edited stream differs exactly in the edited range.
	off, n := int64(genBlock-100), int64(genBlock)
	edited, _ := io.ReadAll(newStream(7, size).edited(off, n))
	if !bytes.Equal(edited[:off], whole[:off]) || !bytes.Equal(edited[off+n:], whole[off+n:]) {
		t.Fatal("the edited stream differs outside the edited range")
	}
	if bytes.Equal(edited[off:off+n], whole[off:off+n]) {
		t.Fatal("the edited range is unchanged")
	}
	p := make([]byte, 3000)
	if _, err := newStream(7, size).edited(off, n).ReadAt(p, off-1500); err != nil || !bytes.Equal(p, edited[off-1500:off+1500]) {
		t.Fatalf("ReadAt across the edit: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true},
		{"256MiB", 256 << 20, true},
		{"4KiB", 4 << 10, true},
		{"1.5M", 3 << 19, true},
		{"100B", 100, true},
		{"4096", 4096, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1GiB", 0, false},
		{"1TiB", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
