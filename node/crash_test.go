package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/raft"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/memnet"
	"github.com/puddlestore/puddlestore/wal"
)

var (
	seedFlag  = flag.Int64("seed", -1, "TestCrashRecovery: run only this seed (or PUDDLE_NODE_SEED)")
	seedsFlag = flag.Int("seeds", 0, "TestCrashRecovery: how many seeds to run (default 5; or PUDDLE_NODE_SEEDS)")
)

// The shape of one run. Ticks are short so that a run sees dozens of
// elections and snapshots in a couple of seconds of wall-clock time.
const (
	crashNodes     = 3
	crashClients   = 4
	sharedKeys     = 4                // keys every client writes and reads: porcupine's material
	chaosFor       = 2 * time.Second  // faults and traffic
	settleWithin   = 15 * time.Second // after healing: every operation finishes, replicas converge
	attemptTimeout = 250 * time.Millisecond
	tickInterval   = 2 * time.Millisecond
)

// errSettleDeadline ends a run that did not settle within settleWithin of
// the heal.
var errSettleDeadline = errors.New("not settled within the deadline after healing")

// TestCrashRecovery power-cuts the real driver (node.Raft) over the real wal
// on a MemFS that loses unsynced writes. Three drivers talk through a
// real-time memnet with loss, duplication and reordering; clients Put
// (exactly-once, retried with the same sequence number until acknowledged)
// and read linearizably (ReadBarrier, then KV.Get) through the leader, while
// a seeded chaos loop cuts power to one node (often the leader), to two at
// once or to the whole cluster, sometimes in the middle of an fsync, and
// isolates nodes. A power cut crashes the node's MemFS first, so nothing
// unsynced survives and the dying driver can do no more I/O, then closes
// the driver and restarts it from its disk with a fresh KV and endpoint.
//
// Once healed, every operation must finish; every acknowledged Put of a
// unique key must be on every replica; replicas that applied through the
// same index must hold identical stores (checked throughout); and the
// history of the shared keys must be linearizable (porcupine).
//
// Runs use wall-clock time, so a seed fixes the faults' choices, not the
// interleaving: a failing seed reproduces often, not always.
//
//	go test ./node -run TestCrashRecovery -seed 17 -v
//	PUDDLE_NODE_SEEDS=50 go test ./node -run TestCrashRecovery
func TestCrashRecovery(t *testing.T) {
	for _, seed := range crashSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runCrash(t, seed) })
	}
}

func crashSeeds(t *testing.T) []uint64 {
	if *seedFlag >= 0 {
		return []uint64{uint64(*seedFlag)}
	}
	if v := os.Getenv("PUDDLE_NODE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PUDDLE_NODE_SEED=%q: %v", v, err)
		}
		return []uint64{s}
	}
	n := 5
	if testing.Short() {
		n = 1
	}
	if *seedsFlag > 0 {
		n = *seedsFlag
	} else if v := os.Getenv("PUDDLE_NODE_SEEDS"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k <= 0 {
			t.Fatalf("PUDDLE_NODE_SEEDS=%q: want a positive number", v)
		}
		n = k
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// crashHarness is one run: the network, the nodes and what clients saw.
type crashHarness struct {
	t     *testing.T
	seed  uint64
	net   *memnet.Network
	peers map[uint64]transport.Addr
	keep  uint64 // SnapshotKeep
	start time.Time
	nodes [crashNodes]*crashNode

	mu struct {
		sync.Mutex
		hist    []porcupine.Operation // completed operations on shared keys
		acked   map[string]ack        // acknowledged Puts of unique keys
		events  []string              // faults, for the failure report
		leaders map[uint64]uint64     // term -> the leader seen in it (Election Safety)
		cuts    int
	}
}

// crashNode is one server across its incarnations: the disk survives, the
// driver, its KV and its endpoint do not.
type crashNode struct {
	id   uint64
	addr transport.Addr
	mem  *wal.MemFS
	gen  int64 // incarnations started; the chaos loop's alone

	mu  sync.Mutex
	cur incarnation // guarded by mu
}

type incarnation struct {
	r  *node.Raft
	kv *node.KV
	fs *cutFS
	ep *memnet.Endpoint
}

func (n *crashNode) current() incarnation {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cur
}

func runCrash(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc4a54))
	net, err := memnet.New(memnet.Config{Seed: seed, DropRate: 0.02, DupRate: 0.02, MaxDelay: 3 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := &crashHarness{t: t, seed: seed, net: net, peers: map[uint64]transport.Addr{},
		keep: uint64(rng.IntN(20)) + 1, start: time.Now()}
	h.mu.acked = map[string]ack{}
	h.mu.leaders = map[uint64]uint64{}
	for i := range h.nodes {
		n := &crashNode{id: uint64(i + 1), addr: transport.Addr(fmt.Sprintf("n%d", i+1)), mem: wal.NewMemFS(seed*16 + uint64(i))}
		h.nodes[i] = n
		h.peers[n.id] = n.addr
	}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() && *seedFlag >= 0 {
			h.mu.Lock()
			t.Logf("events:\n%s", strings.Join(h.mu.events, "\n"))
			h.mu.Unlock()
		}
		if t.Failed() {
			t.Logf("seed %d failed; replay (real time, so not always identically): go test ./node -run TestCrashRecovery -seed %d -v", seed, seed)
		}
	})
	if err := net.Start(); err != nil {
		t.Fatal(err)
	}
	// Clients run until stopNew and then finish the operation they are
	// in. That, and everything after, get settleWithin counted from the
	// heal, however long the chaos took on a loaded machine.
	ctx, cancel := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel(nil)
		wg.Wait()
		for _, n := range h.nodes {
			if inc := n.current(); inc.r != nil {
				inc.r.Close()
				inc.ep.Close()
			}
		}
		net.Stop()
	}()
	for _, n := range h.nodes {
		h.boot(n)
	}

	stopNew := make(chan struct{})
	for c := range crashClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.client(ctx, uint64(c+1), stopNew)
		}()
	}
	h.chaos(rng)
	net.Heal()
	h.event("healed")
	close(stopNew)
	deadline := time.AfterFunc(settleWithin, func() { cancel(errSettleDeadline) })
	defer deadline.Stop()
	wg.Wait()
	// Last, with no client traffic to follow: cut the leader and a
	// follower at once. The next leader must still deliver every write the
	// old one acknowledged (it learns they are committed only when an
	// entry of its own term commits; settle waits for that).
	if l := h.leader(); l != nil && !t.Failed() {
		tick := time.NewTicker(tickInterval)
		h.powerCut([]int{int(l.id - 1), int(l.id % crashNodes)}, rng, tick)
		tick.Stop()
	}
	if t.Failed() {
		return
	}
	h.settle(ctx)
	h.checkAcked(ctx)
	h.finalReads(ctx)
	h.checkLinearizable()
	for _, n := range h.nodes {
		if err := n.current().r.Err(); err != nil {
			t.Errorf("seed %d: node %d's driver failed after healing: %v", seed, n.id, err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Logf("seed %d: %d power cuts, %d operations on shared keys, %d acknowledged unique puts, snapshot keep %d",
		seed, h.mu.cuts, len(h.mu.hist), len(h.mu.acked), h.keep)
}

func (h *crashHarness) event(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.events = append(h.mu.events, fmt.Sprintf("%8.3fs ", time.Since(h.start).Seconds())+fmt.Sprintf(format, args...))
}

// boot starts a new incarnation of n from its disk, with a fresh KV and a
// fresh endpoint at its address.
func (h *crashHarness) boot(n *crashNode) {
	var box atomic.Pointer[node.Raft]
	ep, err := h.net.Endpoint(n.addr, func(from transport.Addr, svc transport.Service, p []byte) {
		if r := box.Load(); r != nil && svc == transport.ServiceRaft {
			r.Deliver(from, p)
		}
	})
	if err != nil {
		h.t.Fatalf("seed %d: endpoint %s: %v", h.seed, n.addr, err)
	}
	n.gen++
	fs, kv := newCutFS(n.mem), node.NewKV()
	r, err := node.StartRaft(node.RaftConfig{
		ID: n.id, Dir: "/data", FS: fs, Peers: h.peers, Bootstrap: true, Transport: ep, SM: kv,
		TickInterval: tickInterval, ElectionTicks: 15, HeartbeatTicks: 1,
		SnapshotEntries: 30, SnapshotKeep: h.keep,
		// Small segments: rollover, release after snapshots and snapshot
		// fallback meet power cuts too.
		WALSegmentBytes: 4 << 10,
		Seed:            int64(h.seed)<<16 ^ int64(n.id)<<8 ^ n.gen,
	})
	if err != nil {
		ep.Close()
		h.t.Fatalf("seed %d: node %d cannot restart from its disk (incarnation %d): %v", h.seed, n.id, n.gen, err)
	}
	box.Store(r)
	n.mu.Lock()
	n.cur = incarnation{r: r, kv: kv, fs: fs, ep: ep}
	n.mu.Unlock()
}

// chaos injects faults until chaosFor has passed: mostly power cuts (of
// one node, often the leader; of two nodes at once; of the whole cluster),
// sometimes isolating a node or healing.
func (h *crashHarness) chaos(rng *rand.Rand) {
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	end := time.Now().Add(chaosFor)
	for time.Now().Before(end) && !h.t.Failed() {
		for range 5 + rng.IntN(30) {
			<-tick.C
		}
		order := rng.Perm(crashNodes) // victims, first the one that may be cut at its fsync
		if l := h.leader(); l != nil && rng.IntN(2) == 0 {
			i := slices.Index(order, int(l.id-1))
			order[0], order[i] = order[i], order[0]
		}
		switch x := rng.IntN(20); {
		case x < 11:
			h.powerCut(order[:1], rng, tick)
		case x < 14:
			h.powerCut(order[:2], rng, tick) // a majority at once: only what was synced survives
		case x < 15:
			h.powerCut(order, rng, tick)
		case x < 18:
			n := h.nodes[order[0]]
			h.net.Partition([]transport.Addr{n.addr})
			h.event("isolated node %d", n.id)
		default:
			h.net.Heal()
			h.event("healed")
		}
		h.checkReplicas()
	}
}

// powerCut cuts the power of the nodes at once (by index; the first may be
// cut in the middle of its next fsync, the others right after it). Each
// node's disk crashes first, so its dying driver can neither sync nor touch
// a file again; then the drivers stop, stay down a few ticks, and restart
// from what their disks kept.
func (h *crashHarness) powerCut(victims []int, rng *rand.Rand, tick *time.Ticker) {
	incs := make([]incarnation, len(victims))
	var desc []string
	for i, v := range victims {
		incs[i] = h.nodes[v].current()
		st := incs[i].r.Status()
		desc = append(desc, fmt.Sprintf("node %d (%v term %d commit %d applied %d)", v+1, st.State, st.Term, st.Commit, st.Applied))
	}
	when := "now"
	if first := incs[0].fs; rng.IntN(2) == 0 {
		when = "at the first one's next fsync"
		first.armed.Store(true)
	wait:
		for range 25 {
			select {
			case <-first.fired:
				break wait
			case <-tick.C:
			}
		}
		if first.armed.Swap(false) {
			when = "now (no fsync within 25 ticks)"
		} else if len(incs) > 1 {
			// Let the others act a little on what the first one
			// acknowledged but did not sync, then cut them too.
			lag := rng.IntN(5)
			for range lag {
				<-tick.C
			}
			when += fmt.Sprintf(", the others %d ticks later", lag)
		}
	}
	for _, inc := range incs {
		inc.fs.cut()
	}
	lose := rng.IntN(2) == 0 // lose the messages in flight to and from them too
	for i, inc := range incs {
		if lose {
			h.net.Crash(h.nodes[victims[i]].addr)
		}
		_ = inc.r.Close() // errors expected: the disk is gone
		inc.ep.Close()
	}
	down := rng.IntN(25)
	for range down {
		<-tick.C
	}
	for _, v := range victims {
		h.boot(h.nodes[v])
		if lose {
			h.net.Restart(h.nodes[v].addr)
		}
		st := h.nodes[v].current().r.Status()
		desc = append(desc, fmt.Sprintf("node %d restarted at term %d commit %d snapshot %d last %d", v+1, st.Term, st.Commit, st.SnapshotIndex, st.LastIndex))
	}
	h.mu.Lock()
	h.mu.cuts += len(victims)
	h.mu.Unlock()
	h.event("power cut %s, down %d ticks, lost in-flight %v: %s", when, down, lose, strings.Join(desc, "; "))
}

// leader returns the node that believes it leads in the highest term.
func (h *crashHarness) leader() *crashNode {
	var best *crashNode
	var term uint64
	for _, n := range h.nodes {
		st := n.current().r.Status()
		if st.State != raft.StateLeader {
			continue
		}
		h.mu.Lock()
		if prev, ok := h.mu.leaders[st.Term]; ok && prev != n.id {
			h.t.Errorf("seed %d: two leaders in term %d: nodes %d and %d", h.seed, st.Term, prev, n.id)
		}
		h.mu.leaders[st.Term] = n.id
		h.mu.Unlock()
		if st.Term >= term {
			best, term = n, st.Term
		}
	}
	return best
}

// target is where a client sends a request: the leader, or a random node
// when none is known (it forwards, or fails and the client retries).
func (h *crashHarness) target(rng *rand.Rand) incarnation {
	if l := h.leader(); l != nil {
		return l.current()
	}
	return h.nodes[rng.IntN(crashNodes)].current()
}

// replicaStates returns each node's KV snapshot and the index of the last
// command it applied.
func (h *crashHarness) replicaStates() (snaps [crashNodes][]byte, applied [crashNodes]uint64) {
	for i, n := range h.nodes {
		b, err := n.current().kv.Snapshot()
		if err != nil {
			h.t.Fatalf("seed %d: snapshot node %d: %v", h.seed, n.id, err)
		}
		snaps[i] = b
		applied[i], _ = binary.Uvarint(b[1:]) // version byte, then the applied index
	}
	return snaps, applied
}

// checkReplicas: State Machine Safety, seen from outside. Two replicas
// that applied through the same command hold the same store and sessions.
func (h *crashHarness) checkReplicas() {
	snaps, applied := h.replicaStates()
	for i := range crashNodes {
		for j := i + 1; j < crashNodes; j++ {
			if applied[i] == applied[j] && !bytes.Equal(snaps[i], snaps[j]) {
				h.t.Errorf("seed %d: nodes %d and %d both applied through index %d but their stores differ (%d vs %d keys)",
					h.seed, i+1, j+1, applied[i], h.nodes[i].current().kv.Len(), h.nodes[j].current().kv.Len())
			}
		}
	}
}

// crashOp is a porcupine input: a Put or a Get of a shared key.
type crashOp struct {
	put        bool
	key, value string
}

func (h *crashHarness) now() int64 { return int64(time.Since(h.start)) }

func (h *crashHarness) record(client uint64, op crashOp, out string, call, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.hist = append(h.mu.hist, porcupine.Operation{ClientId: int(client), Input: op, Output: out, Call: call, Return: ret})
}

// client issues operations until stopNew, then finishes the one it is in.
// Half its Puts are to unique keys (checked for presence at the end), half
// to shared keys (checked by porcupine, with the Gets).
func (h *crashHarness) client(ctx context.Context, id uint64, stopNew <-chan struct{}) {
	rng := rand.New(rand.NewPCG(h.seed, id))
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	var seq uint64
	for {
		select {
		case <-stopNew:
			return
		case <-ctx.Done():
			return
		default:
		}
		shared := fmt.Sprintf("s%d", rng.IntN(sharedKeys))
		switch rng.IntN(3) {
		case 0:
			h.get(ctx, id, shared, rng, tick, stopNew)
		case 1:
			seq++
			h.put(ctx, id, seq, shared, rng, tick)
		default:
			seq++
			h.put(ctx, id, seq, fmt.Sprintf("u%d-%d", id, seq), rng, tick)
		}
	}
}

// put retries one exactly-once Put until it is acknowledged: every attempt
// carries the same (client, seq), so at most one of them takes effect.
func (h *crashHarness) put(ctx context.Context, client, seq uint64, key string, rng *rand.Rand, tick *time.Ticker) {
	value := fmt.Sprintf("c%d-%d", client, seq)
	cmd := node.EncodePut(client, seq, key, []byte(value))
	call := h.now()
	for ctx.Err() == nil {
		inc := h.target(rng)
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		res, idx, err := inc.r.Propose(actx, cmd)
		cancel()
		if err == nil {
			ret := h.now()
			r, ok := res.(node.KVResult)
			if !ok || r.Index == 0 {
				h.t.Errorf("seed %d: put %s answered %#v", h.seed, key, res)
			}
			if key[0] == 's' {
				h.record(client, crashOp{put: true, key: key, value: value}, "", call, ret)
			} else {
				st := inc.r.Status()
				h.mu.Lock()
				h.mu.acked[key] = ack{value: value, node: st.ID, term: st.Term, index: idx, first: r.Index,
					at: time.Since(h.start)}
				h.mu.Unlock()
			}
			return
		}
		if !transient(err) {
			h.t.Errorf("seed %d: put %s (client %d seq %d): %v", h.seed, key, client, seq, err)
			return
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	if context.Cause(ctx) == errSettleDeadline { // not when the test gave up on the run
		h.t.Errorf("seed %d: put %s (client %d seq %d) still not acknowledged %v after healing", h.seed, key, client, seq, settleWithin)
	}
}

// get reads key linearizably: a ReadBarrier on the node, then its KV. A
// Get that fails has no effect and is left out of the history.
func (h *crashHarness) get(ctx context.Context, client uint64, key string, rng *rand.Rand, tick *time.Ticker, stop <-chan struct{}) (string, bool) {
	for ctx.Err() == nil {
		inc := h.target(rng)
		call := h.now()
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := inc.r.ReadBarrier(actx)
		cancel()
		if err == nil {
			v, _, _ := inc.kv.Get(key)
			h.record(client, crashOp{key: key}, string(v), call, h.now())
			return string(v), true
		}
		if !transient(err) {
			h.t.Errorf("seed %d: read barrier for %s: %v", h.seed, key, err)
			return "", false
		}
		select {
		case <-stop:
			return "", false
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	return "", false
}

// transient reports errors a client retries: the node is not (or no longer)
// the leader, stopped, or slow.
func transient(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrProposalDropped) ||
		errors.Is(err, node.ErrStopped) || errors.Is(err, node.ErrTimeout) || errors.Is(err, node.ErrLeadershipLost) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// settle waits until one leader has committed everything and every replica
// applied it, then requires the replicas' stores to be identical.
func (h *crashHarness) settle(ctx context.Context) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var why string
	for {
		why = h.converged()
		if why == "" {
			return
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("seed %d: replicas did not converge within %v of healing: %s", h.seed, settleWithin, why)
		case <-tick.C:
		}
	}
}

func (h *crashHarness) converged() string {
	l := h.leader()
	if l == nil {
		return "no leader"
	}
	// A new leader learns how far the log is committed only once an entry
	// of its own term commits (Raft §5.4.2, §8): until then its commit
	// index can lag what the old leader committed and acknowledged, and
	// replicas that all applied that far look converged while acknowledged
	// writes are still to be applied. A read barrier waits for that entry.
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	err := l.current().r.ReadBarrier(ctx)
	cancel()
	if err != nil {
		return fmt.Sprintf("leader %d cannot serve a read yet: %v", l.id, err)
	}
	commit := l.current().r.Status().Commit
	var sts []string
	done := true
	for _, n := range h.nodes {
		st := n.current().r.Status()
		sts = append(sts, fmt.Sprintf("node %d %v term %d commit %d applied %d", n.id, st.State, st.Term, st.Commit, st.Applied))
		done = done && st.Applied == commit
	}
	if !done {
		return strings.Join(sts, "; ")
	}
	snaps, applied := h.replicaStates()
	for i := 1; i < crashNodes; i++ {
		if !bytes.Equal(snaps[0], snaps[i]) {
			return fmt.Sprintf("stores differ: node 1 applied through %d, node %d through %d (%s)", applied[0], i+1, applied[i], strings.Join(sts, "; "))
		}
	}
	return ""
}

// ack is where an acknowledged unique Put came from, for the report of a
// lost one.
type ack struct {
	value        string
	node, term   uint64        // the node that answered, its term then
	index, first uint64        // the entry that answered; where the write first applied
	at           time.Duration // since the run began
}

// checkAcked: every acknowledged Put of a unique key is on every replica.
// A loss reports where the acknowledgement came from and every replica's
// state, then looks again after a while: a write that turns up late was
// acknowledged before it was durable on a quorum.
func (h *crashHarness) checkAcked(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lost := map[string]ack{}
	for _, n := range h.nodes {
		kv := n.current().kv
		for k, a := range h.mu.acked {
			if v, ok, at := kv.Get(k); !ok || string(v) != a.value {
				lost[k] = a
				if len(lost) <= 10 {
					h.t.Errorf("seed %d: acknowledged put %s=%s is %q (found %v) on node %d (applied through %d); acknowledged at %v by node %d in term %d at index %d, first applied at %d",
						h.seed, k, a.value, v, ok, n.id, at, a.at, a.node, a.term, a.index, a.first)
				}
			}
		}
	}
	if len(lost) == 0 {
		return
	}
	for _, n := range h.nodes {
		st := n.current().r.Status()
		h.t.Logf("node %d: %v term %d commit %d applied %d snapshot %d last %d", n.id, st.State, st.Term, st.Commit, st.Applied, st.SnapshotIndex, st.LastIndex)
	}
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	for range 500 {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	for k, a := range lost {
		for _, n := range h.nodes {
			v, ok, at := n.current().kv.Get(k)
			h.t.Logf("a second later, %s on node %d: %q (found %v; applied through %d)", k, n.id, v, ok && string(v) == a.value, at)
		}
	}
}

// finalReads reads every shared key once more after healing, so porcupine
// also checks the final state.
func (h *crashHarness) finalReads(ctx context.Context) {
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(h.seed, 0))
	for k := range sharedKeys {
		if _, ok := h.get(ctx, 0, fmt.Sprintf("s%d", k), rng, tick, nil); !ok {
			h.t.Fatalf("seed %d: final read of s%d failed: %v", h.seed, k, context.Cause(ctx))
		}
	}
}

// crashModel is the sequential specification of one shared key: its value.
var crashModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(crashOp)
		if in.put {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(crashOp)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.key, output)
	},
}

// checkLinearizable checks the history of each shared key with porcupine
// and, for a key that fails, prints that key's operations.
func (h *crashHarness) checkLinearizable() {
	h.mu.Lock()
	byKey := map[string][]porcupine.Operation{}
	for _, op := range h.mu.hist {
		k := op.Input.(crashOp).key
		byKey[k] = append(byKey[k], op)
	}
	h.mu.Unlock()
	for k, ops := range byKey {
		switch porcupine.CheckOperationsTimeout(crashModel, ops, 5*time.Second) {
		case porcupine.Illegal:
			var b strings.Builder
			for _, op := range ops {
				fmt.Fprintf(&b, "  [%.6f, %.6f] client %d %s\n", float64(op.Call)/1e9, float64(op.Return)/1e9, op.ClientId,
					crashModel.DescribeOperation(op.Input, op.Output))
			}
			h.t.Errorf("seed %d: the %d operations on %s are not linearizable:\n%s", h.seed, len(ops), k, b.String())
		case porcupine.Unknown:
			h.t.Logf("seed %d: linearizability check of %s timed out (%d operations)", h.seed, k, len(ops))
		}
	}
}

// errPowerCut is what a driver's disk answers after its power was cut.
var errPowerCut = errors.New("crash test: power cut")

// cutFS is one incarnation's view of a node's MemFS. cut crashes the MemFS
// and fails every later operation, path-based ones included: a driver that
// has not noticed it is dead yet must not create, rename or remove files
// on the disk its successor recovers from. Operations hold mu shared, so
// none straddles the crash. Armed, the next fsync cuts the power instead
// of syncing: the Ready being persisted is lost after its
// send-before-persist messages went out, the window a random cut rarely hits.
type cutFS struct {
	mem   *wal.MemFS
	armed atomic.Bool
	fired chan struct{} // closed by the first cut
	once  sync.Once
	mu    sync.RWMutex
	dead  bool // guarded by mu
}

var _ wal.FS = (*cutFS)(nil)

func newCutFS(mem *wal.MemFS) *cutFS { return &cutFS{mem: mem, fired: make(chan struct{})} }

func (f *cutFS) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dead {
		f.dead = true
		f.mem.Crash()
		f.once.Do(func() { close(f.fired) })
	}
}

// sync runs an fsync, or cuts the power if armed.
func (f *cutFS) sync(op func() error) error {
	if f.armed.CompareAndSwap(true, false) {
		f.cut()
		return errPowerCut
	}
	return f.do(op)
}

func (f *cutFS) do(op func() error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.dead {
		return errPowerCut
	}
	return op()
}

func (f *cutFS) MkdirAll(dir string) error { return f.do(func() error { return f.mem.MkdirAll(dir) }) }
func (f *cutFS) Remove(name string) error  { return f.do(func() error { return f.mem.Remove(name) }) }
func (f *cutFS) SyncDir(dir string) error  { return f.sync(func() error { return f.mem.SyncDir(dir) }) }
func (f *cutFS) Rename(o, n string) error  { return f.do(func() error { return f.mem.Rename(o, n) }) }

func (f *cutFS) Create(name string) (wal.File, error) {
	var file wal.File
	if err := f.do(func() (err error) { file, err = f.mem.Create(name); return err }); err != nil {
		return nil, err
	}
	return cutFile{f, file}, nil
}

func (f *cutFS) OpenAppend(name string) (wal.File, error) {
	var file wal.File
	if err := f.do(func() (err error) { file, err = f.mem.OpenAppend(name); return err }); err != nil {
		return nil, err
	}
	return cutFile{f, file}, nil
}

func (f *cutFS) ReadFile(name string) ([]byte, error) {
	var b []byte
	err := f.do(func() (err error) { b, err = f.mem.ReadFile(name); return err })
	return b, err
}

func (f *cutFS) ReadDir(dir string) ([]string, error) {
	var names []string
	err := f.do(func() (err error) { names, err = f.mem.ReadDir(dir); return err })
	return names, err
}

type cutFile struct {
	fs *cutFS
	f  wal.File
}

func (c cutFile) Write(p []byte) (n int, err error) {
	err = c.fs.do(func() error { n, err = c.f.Write(p); return err })
	return n, err
}

func (c cutFile) Sync() error { return c.fs.do(c.f.Sync) }
func (c cutFile) Truncate(size int64) error {
	return c.fs.do(func() error { return c.f.Truncate(size) })
}
func (c cutFile) Close() error { return c.fs.do(c.f.Close) }
