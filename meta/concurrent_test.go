package meta

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrentReads: readers call every read method while one goroutine
// (the driver) applies commands and takes snapshots. Run with -race; each
// read must also see whole commands only: a file's Info agrees with its
// own history as of the same time.
func TestConcurrentReads(t *testing.T) {
	s, _ := New(Config{MaxSessions: 3})
	r := rand.New(rand.NewPCG(5, 5))
	g := &gen{r: r, m: newModel(3), seqs: map[uint64]uint64{}}
	cmds := make([][]byte, 3000)
	for i := range cmds {
		cmds[i] = g.next()
		g.m.apply(uint64(i+1), cmds[i]) // so the generator sees the tree grow
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() { // the driver
		defer wg.Done()
		defer close(done)
		for i, b := range cmds {
			s.Apply(uint64(i+1), b)
			if i%500 == 0 {
				if _, err := s.Snapshot(); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-done:
					return
				default:
				}
				p := universe[rr.IntN(len(universe))]
				_, now := s.Applied()
				at := []int64{Latest, rr.Int64N(max(now, 1))}[rr.IntN(2)]
				s.ReadDir(p, at)
				s.Lease(p)
				s.Nodes()
				in, err := s.Stat(p, at)
				if err != nil || in.Dir || at == Latest {
					continue
				}
				vs, err := s.History(p, at)
				if err != nil || uint64(len(vs)) != in.Versions || vs[len(vs)-1] != in.Version.bare() {
					t.Errorf("%s as of %d: stat %+v, history %+v, %v", p, at, in, vs, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
