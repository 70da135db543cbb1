package meta

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var (
	seedFlag  = flag.Int64("seed", -1, "TestRandomized: run only this seed")
	seedsFlag = flag.Int("seeds", 20, "TestRandomized: number of seeds to run")
	stepsFlag = flag.Int("steps", 300, "TestRandomized: commands per seed")
)

// TestRandomized applies random command sequences to a State and to the
// naive model, comparing every outcome and then every read (Stat, ReadDir,
// History, now and as of a random earlier time), the leases, the members
// and the session table. At random points the State is snapshotted and
// replaced by a fresh one restored from the bytes, and a twin State fed
// the same commands must produce the same snapshot bytes (determinism). A
// failure prints its seed; -seed replays it.
func TestRandomized(t *testing.T) {
	seeds := make([]uint64, *seedsFlag)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	if *seedFlag >= 0 {
		seeds = []uint64{uint64(*seedFlag)}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			if err := runRandomized(seed, *stepsFlag); err != nil {
				t.Fatalf("seed %d: %v\nreplay: go test ./meta -run TestRandomized -seed %d", seed, err, seed)
			}
		})
	}
}

// gen generates commands that hit interesting cases often: a small
// alphabet of names, so paths collide; the model's own paths, versions
// and lease tokens, so commits and leases succeed as well as fail.
type gen struct {
	r         *rand.Rand
	m         *model
	seqs      map[uint64]uint64 // next sequence number per client
	sent      [][]byte          // session commands sent, for retries
	endOfTime bool              // whether to send times near Latest
}

func (g *gen) name() string { return []string{"a", "b", "c"}[g.r.IntN(3)] }

// path returns a path for an operation: often an existing one (a file
// when file is set), else a random one over the alphabet, rarely an
// invalid one.
func (g *gen) path(file bool) string {
	switch x := g.r.IntN(100); {
	case x < 55:
		var keys []string
		for k, e := range g.m.tree {
			if k != "/" && (!file || !e.dir) {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return g.path(false)
		}
		slices.Sort(keys)
		return keys[g.r.IntN(len(keys))]
	case x < 97:
		p := ""
		for range 1 + g.r.IntN(3) {
			p += "/" + g.name()
		}
		return p
	default:
		return []string{"", "a", "/a/../b", "/a//b", "/a/", "/", "/.", "/a/\x00"}[g.r.IntN(8)]
	}
}

// newPath returns a name in an existing directory: a likely target for
// creation and rename.
func (g *gen) newPath() string {
	var dirs []string
	for k, e := range g.m.tree {
		if e.dir {
			dirs = append(dirs, k)
		}
	}
	slices.Sort(dirs)
	d := dirs[g.r.IntN(len(dirs))]
	if d == "/" {
		d = ""
	}
	return d + "/" + g.name()
}

func (g *gen) writer() string { return []string{"ann", "ben", "cy", ""}[g.r.IntN(4)] }

func (g *gen) token(p string) uint64 {
	switch x := g.r.IntN(10); {
	case x < 6:
		return 0
	case x < 9:
		if l, ok := g.m.leases[p]; ok {
			return l.Token
		}
		return 0
	default:
		return 1 + g.r.Uint64N(g.m.nextToken)
	}
}

func (g *gen) expect(p string) Expect {
	switch g.r.IntN(5) {
	case 0:
		return ExpectAny()
	case 1:
		return ExpectAbsent()
	case 2, 3: // the right version, if there is a file
		if e, ok := g.m.tree[p]; ok && !e.dir {
			return ExpectVersion(e.file.versions[len(e.file.versions)-1])
		}
		return ExpectVersion(Version{Number: 1, Ref: refOf("0")})
	default:
		return Expect{Match: MatchVersion, Number: g.r.Uint64N(4), Ref: refOf(fmt.Sprint(g.r.IntN(3)))}
	}
}

func (g *gen) mode() uint32 {
	if g.r.IntN(30) == 0 {
		return 0o1000
	}
	return []uint32{0o644, 0o600, 0o755}[g.r.IntN(3)]
}

// next returns the next command's bytes.
func (g *gen) next() []byte {
	if x := g.r.IntN(100); x < 3 && len(g.sent) > 0 {
		return g.sent[g.r.IntN(len(g.sent))] // a retry, or a stale one
	} else if x < 5 {
		b := make([]byte, g.r.IntN(12))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		if g.r.IntN(2) == 0 {
			b = append([]byte{codecVersion, byte(1 + g.r.IntN(int(opEnd)))}, b...)
		}
		return b
	}
	var c Command
	switch x := g.r.IntN(100); {
	case x < 12:
		c = Mkdir([]string{g.path(false), g.newPath()}[g.r.IntN(2)], g.r.IntN(3) == 0, g.mode(), g.writer())
	case x < 45:
		p := []string{g.path(true), g.newPath()}[g.r.IntN(2)]
		c = Commit(p, g.expect(p), refOf(fmt.Sprint(g.r.IntN(3))), g.r.Uint64N(100), g.mode(), g.writer(), g.token(p))
		if g.r.IntN(3) == 0 {
			// Inline: mostly small, now and then at or past the limit.
			n := []int{0, 1 + g.r.IntN(8), MaxInline, MaxInline + 1}[g.r.IntN(4)]
			c = CommitInline(p, c.Expect, c.Ref, bytes.Repeat([]byte{byte('a' + g.r.IntN(3))}, n), c.Mode, c.Owner, c.Token)
		}
		if g.r.IntN(40) == 0 {
			c.Ref = Ref{}
		}
	case x < 53:
		p := g.path(false)
		c = Remove(p, g.r.IntN(2) == 0)
		c.Token = g.token(p)
	case x < 65:
		c = Rename(g.path(false), []string{g.path(false), g.newPath()}[g.r.IntN(2)])
		c.Token = g.token([]string{c.Path, c.To}[g.r.IntN(2)])
	case x < 73:
		p := g.path(true)
		c = RestoreVersion(p, g.r.Uint64N(4), g.writer(), g.token(p))
		c.Expect = g.expect(p)
	case x < 83:
		c = Lock(g.path(g.r.IntN(2) == 0), g.writer(), time.Duration(g.r.IntN(400)))
	case x < 90:
		p := g.path(false)
		c = Unlock(p, g.writer(), g.token(p))
		if l, ok := g.m.leases[p]; ok && g.r.IntN(2) == 0 {
			c.Owner, c.Token = l.Owner, l.Token // the holder
		}
	case x < 96:
		c = SetNode(g.r.Uint64N(4), []string{"", "h:1", "h:2"}[g.r.IntN(3)], Roles(g.r.IntN(9)))
	default:
		c = RemoveNode(g.r.Uint64N(4))
	}
	c.Time = g.m.now + int64(g.r.IntN(150)) - 30
	if g.endOfTime && g.r.IntN(100) == 0 {
		c.Time = Latest - 1 - int64(g.r.IntN(3)) // after which every command is refused
	}
	if g.r.IntN(10) < 4 {
		c.Client = 1 + g.r.Uint64N(4)
		g.seqs[c.Client]++
		c.Seq = g.seqs[c.Client]
		b := c.Encode()
		g.sent = append(g.sent, b)
		return b
	}
	return c.Encode()
}

func runRandomized(seed uint64, steps int) error {
	r := rand.New(rand.NewPCG(seed, 0x6d657461))
	cfg := Config{MaxSessions: []int{2, 3, 100}[seed%3]}
	s, _ := New(cfg)
	twin, _ := New(cfg)
	m := newModel(cfg.MaxSessions)
	g := &gen{r: r, m: m, seqs: map[uint64]uint64{}, endOfTime: seed%7 == 0}
	for i := 1; i <= steps; i++ {
		index := uint64(i)
		b := g.next()
		want := m.apply(index, b)
		res, err := resultOf(s.Apply(index, b))
		if _, err := twin.Apply(index, b); err != nil && KindOf(err) == 0 {
			return fmt.Errorf("twin: %v", err)
		}
		got := outcome{res: res, kind: KindOf(err)}
		if e, ok := err.(*Error); ok {
			got.cur = e.Current
		}
		cmd, _ := DecodeCommand(b)
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("step %d: %+v\n got %+v (%v)\nwant %+v", i, cmd, got, err, want)
		}
		if err := compare(s, m, r); err != nil {
			return fmt.Errorf("step %d, after %+v: %v", i, cmd, err)
		}
		if r.IntN(25) == 0 {
			snap, _ := s.Snapshot()
			fresh, _ := New(cfg)
			if err := fresh.Restore(snap); err != nil {
				return fmt.Errorf("step %d: restore: %v", i, err)
			}
			if again, _ := fresh.Snapshot(); !bytes.Equal(again, snap) {
				return fmt.Errorf("step %d: the restored state encodes differently", i)
			}
			s = fresh
		}
		if a, b := snapshotOf(s), snapshotOf(twin); i%50 == 0 && !bytes.Equal(a, b) {
			return fmt.Errorf("step %d: two states fed the same commands differ", i)
		}
	}
	if !bytes.Equal(snapshotOf(s), snapshotOf(twin)) {
		return fmt.Errorf("two states fed the same commands differ at the end")
	}
	return nil
}

func snapshotOf(s *State) []byte {
	b, _ := s.Snapshot()
	return b
}
