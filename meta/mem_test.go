package meta

import (
	"fmt"
	"runtime"
	"testing"
)

// TestMemoryPerFile measures the heap one file costs: a file with one
// version in a directory of 1,000, and each further version. The bounds
// are loose (the race detector and map growth move the figures); doc.go
// quotes the measured numbers.
func TestMemoryPerFile(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~10 MB")
	}
	const dirs, perDir = 20, 1000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h := newHarness(t, Config{})
	for d := range dirs {
		h.must(0, Mkdir(fmt.Sprintf("/dir%02d", d), false, 0o755, "owner"))
	}
	// Encode first so that only the state's allocations are measured.
	var cmds [][]byte
	for d := range dirs {
		for f := range perDir {
			c := Commit(fmt.Sprintf("/dir%02d/file-%04d", d, f), ExpectAbsent(), refOf(fmt.Sprint(d, f)), 4096, 0o644, "writer", 0)
			cmds = append(cmds, c.Encode())
		}
	}
	before := heap()
	for _, b := range cmds {
		h.index++
		if _, err := h.s.Apply(h.index, b); err != nil {
			t.Fatal(err)
		}
	}
	perFile := float64(int64(heap())-int64(before)) / (dirs * perDir)
	for d := range dirs {
		for f := range perDir {
			cmds[d*perDir+f] = Commit(fmt.Sprintf("/dir%02d/file-%04d", d, f), ExpectAny(), refOf(fmt.Sprint("v2", d, f)), 4096, 0o644, "writer", 0).Encode()
		}
	}
	before = heap()
	for _, b := range cmds {
		h.index++
		if _, err := h.s.Apply(h.index, b); err != nil {
			t.Fatal(err)
		}
	}
	perVersion := float64(int64(heap())-int64(before)) / (dirs * perDir)
	runtime.KeepAlive(cmds)
	runtime.KeepAlive(h)
	t.Logf("heap per file with one version: %.0f bytes (name 9 bytes); per further version: %.0f bytes", perFile, perVersion)
	if perFile > 600 || perVersion > 300 {
		t.Errorf("memory per file %.0f B or per version %.0f B above the bound (600, 300)", perFile, perVersion)
	}
}
