package wal

import (
	"bytes"
	"errors"
	"testing"
)

func writeFile(t *testing.T, m *MemFS, name, data string, sync bool) File {
	t.Helper()
	f, err := m.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(data))
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func read(m *MemFS, name string) string {
	b, err := m.ReadFile(name)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestMemFSCrash(t *testing.T) {
	m := NewMemFS(1)
	m.SetTornWrites(false)
	m.MkdirAll("/d")
	f := writeFile(t, m, "/d/a", "synced", true)
	m.SyncDir("/d")
	f.Write([]byte(" lost"))
	writeFile(t, m, "/d/c", "renamed", true)
	m.SyncDir("/d")
	writeFile(t, m, "/d/b", "no dir sync", true)
	m.Rename("/d/c", "/d/c2") // not synced: reverted
	m.Remove("/d/a")          // not synced: reverted
	m.Crash()
	if got := read(m, "/d/a"); got != "synced" {
		t.Errorf("a = %q", got)
	}
	if _, err := m.ReadFile("/d/b"); err == nil {
		t.Errorf("b survived without a directory sync")
	}
	if got := read(m, "/d/c"); got != "renamed" {
		t.Errorf("c = %q", got)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrCrashed) {
		t.Errorf("write on pre-crash handle: %v", err)
	}
	names, _ := m.ReadDir("/d")
	if len(names) != 2 {
		t.Errorf("entries after crash: %v", names)
	}
}

func TestMemFSUnsyncedTruncate(t *testing.T) {
	m := NewMemFS(1)
	m.MkdirAll("/d")
	f := writeFile(t, m, "/d/a", "0123456789", true)
	m.SyncDir("/d")
	f.Truncate(3)
	f.Write([]byte("abc"))
	if got := read(m, "/d/a"); got != "012abc" {
		t.Fatalf("before crash %q", got)
	}
	m.Crash()
	if got := read(m, "/d/a"); got != "0123456789" {
		t.Fatalf("unsynced truncate survived: %q", got)
	}
}

// TestMemFSTornDeterministic: a crash keeps a prefix of the unsynced bytes,
// possibly zero-padded, the same for the same seed.
func TestMemFSTornDeterministic(t *testing.T) {
	run := func(seed uint64) []string {
		m := NewMemFS(seed)
		m.MkdirAll("/d")
		var out []string
		for i := 0; i < 20; i++ {
			f := writeFile(t, m, "/d/a", "durable|", true)
			m.SyncDir("/d")
			f.Write([]byte("unsynced-data"))
			m.Crash()
			got := read(m, "/d/a")
			rest := []byte(got[len("durable|"):])
			trimmed := bytes.TrimRight(rest, "\x00")
			if got[:8] != "durable|" || !bytes.HasPrefix([]byte("unsynced-data"), trimmed) || len(rest) > len("unsynced-data") {
				t.Fatalf("seed %d: crash left %q", seed, got)
			}
			out = append(out, got)
		}
		return out
	}
	a, b := run(7), run(7)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 not deterministic at crash %d: %q vs %q", i, a[i], b[i])
		}
	}
}

func TestMemFSFault(t *testing.T) {
	m := NewMemFS(1)
	m.MkdirAll("/d")
	boom := errors.New("boom")
	m.SetFault(func(op, name string) error {
		if op == "sync" {
			return boom
		}
		return nil
	})
	f, _ := m.Create("/d/a")
	if err := f.Sync(); !errors.Is(err, boom) {
		t.Fatalf("sync: %v", err)
	}
	// A failed fsync makes the WAL refuse further writes.
	m.SetFault(nil)
	w, _ := open(t, m, 0)
	m.SetFault(func(op, name string) error {
		if op == "sync" {
			return boom
		}
		return nil
	})
	if err := w.Save(hsTerm(1), ents(1, 1, 1)); !errors.Is(err, ErrFailed) {
		t.Fatalf("save: %v", err)
	}
	m.SetFault(nil)
	if err := w.Save(hsTerm(1), ents(1, 1, 1)); !errors.Is(err, ErrFailed) {
		t.Fatalf("save after failure: %v", err)
	}
}
