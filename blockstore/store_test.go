package blockstore_test

import (
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/blockstore/storetest"
	"github.com/puddlestore/puddlestore/wal"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) blockstore.Store { return blockstore.NewMemory() })
}

func TestDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) blockstore.Store {
		d, err := blockstore.Open(t.TempDir(), blockstore.Options{PackBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestDiskMemFS(t *testing.T) {
	storetest.Run(t, func(t *testing.T) blockstore.Store {
		d, err := blockstore.Open("/blocks", blockstore.Options{FS: wal.NewMemFS(1), PackBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
