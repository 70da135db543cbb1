package raft

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// TestInteraction runs the scripts in testdata/*.txt against an in-test
// cluster of Nodes: persistence is instant, messages wait in one ordered
// queue until delivered (through the wire codec), and nothing moves unless a
// command says so. Regenerate the expected output with
//
//	go test ./raft -run TestInteraction -rewrite
//
// and read the diff: a changed line is a changed protocol behaviour.
func TestInteraction(t *testing.T) {
	runScripts(t, "*.txt", true, func(t *testing.T) func(ddCmd) string {
		e := &env{t: t, nodes: map[uint64]*inode{}, logs: new(strings.Builder)}
		return e.handle
	})
}

var knownBugs = flag.Bool("known-bugs", false, "run testdata/bugs: scripts that reproduce open core bugs")

// TestInteractionKnownBugs runs testdata/bugs/*.txt: scripts whose expected
// output is the correct behaviour that the core does not show yet. They are
// skipped unless -known-bugs is given, so that the package stays green while
// the bug is open, and never rewritten (the expectation is hand-written);
// once fixed, move the script up into testdata/.
func TestInteractionKnownBugs(t *testing.T) {
	if !*knownBugs {
		t.Skip("open core bugs; run with -known-bugs (see the comment atop each testdata/bugs script)")
	}
	if files, _ := filepath.Glob(filepath.Join("testdata", "bugs", "*.txt")); len(files) == 0 {
		t.Skip("no open core bugs in testdata/bugs")
	}
	runScripts(t, "bugs/*.txt", false, func(t *testing.T) func(ddCmd) string {
		e := &env{t: t, nodes: map[uint64]*inode{}, logs: new(strings.Builder)}
		return e.handle
	})
}

// storage is what a node has made durable: it survives restart.
type storage struct {
	hs   pb.HardState
	snap pb.Snapshot
	ents []pb.Entry
}

func (s *storage) persist(rd Ready) error {
	if !rd.HardState.IsEmpty() {
		s.hs = rd.HardState
	}
	if !rd.Snapshot.IsEmpty() {
		s.snap = rd.Snapshot
		s.ents = nil // the core dropped its whole log for the snapshot
	}
	if len(rd.Entries) > 0 {
		first := rd.Entries[0].Index
		i := 0
		for i < len(s.ents) && s.ents[i].Index < first {
			i++
		}
		s.ents = s.ents[:i:i]
		want := s.snap.Metadata.Index + 1
		if len(s.ents) > 0 {
			want = s.ents[len(s.ents)-1].Index + 1
		}
		if first > want {
			return fmt.Errorf("storage: entries start at %d, want <= %d", first, want)
		}
		s.ents = append(s.ents, rd.Entries...)
	}
	return nil
}

type inode struct {
	n     *Node
	cfg   Config // as first built; restart reuses it without bootstrap
	store storage
}

type env struct {
	t     *testing.T
	nodes map[uint64]*inode
	queue []pb.Message   // sent, not yet delivered, in send order
	group map[uint64]int // partition groups; nil when healed
	logs  *strings.Builder
	rules []netRule // one-shot faults applied at delivery
}

// netRule drops or corrupts the next message to a node that matches, after
// skipping skip matches.
type netRule struct {
	to      uint64
	typ     string
	skip    uint64
	corrupt bool
}

func (e *env) ids() []uint64 {
	var ids []uint64
	for id := range e.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (e *env) node(c ddCmd, i int) *inode {
	id := c.id(e.t, i)
	nd := e.nodes[id]
	if nd == nil {
		c.fatalf(e.t, "no node %d", id)
	}
	return nd
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	var nl *NotLeaderError
	if errors.As(err, &nl) {
		return fmt.Sprintf("error: NotLeaderError (leader hint %d): %v\n", nl.Leader, err)
	}
	return fmt.Sprintf("error: %v\n", err)
}

// logHandler collects the core's log sentences for the script output.
type logHandler struct{ b *strings.Builder }

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	fmt.Fprintf(h.b, "INFO %s\n", r.Message)
	return nil
}
func (h logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logHandler) WithGroup(string) slog.Handler      { return h }

// flushLogs returns the log lines collected since the last flush.
func (e *env) flushLogs() string {
	s := e.logs.String()
	e.logs.Reset()
	return s
}

func (e *env) handle(c ddCmd) string {
	out := e.handle1(c)
	return out + e.flushLogs()
}

func (e *env) handle1(c ddCmd) string {
	t := e.t
	switch c.name {
	case "add-nodes":
		return e.addNodes(c)
	case "reset":
		*e = env{t: t, nodes: map[uint64]*inode{}, logs: e.logs}
		return ""
	case "campaign":
		return errString(e.node(c, 0).n.Campaign())
	case "tick-election":
		nd := e.node(c, 0)
		r := nd.n.r
		k := r.randomizedElectionTimeout - r.electionElapsed
		if r.state == StateLeader {
			k = r.cfg.ElectionTick - r.electionElapsed
		}
		k = max(k, 1)
		for range k {
			nd.n.Tick()
		}
		return fmt.Sprintf("ticked %d\n", k)
	case "tick-heartbeat":
		nd := e.node(c, 0)
		for range nd.n.r.cfg.HeartbeatTick {
			nd.n.Tick()
		}
		return ""
	case "tick":
		nd := e.node(c, 0)
		for range c.uint(t, "count", 1) {
			nd.n.Tick()
		}
		return ""
	case "stabilize":
		return e.stabilize(c)
	case "process-ready":
		var b strings.Builder
		for i := range c.pos {
			b.WriteString(e.processReady(e.node(c, i)))
		}
		return b.String()
	case "deliver-msgs":
		var to []uint64
		for i := range c.pos {
			to = append(to, c.id(t, i))
		}
		return e.deliver(to)
	case "drop":
		return e.drop(c)
	case "corrupt-snap":
		return e.corruptSnap(c)
	case "drop-next", "corrupt-next":
		e.rules = append(e.rules, netRule{to: c.id(t, 0), typ: c.kv["type"], skip: c.uint(t, "skip", 0), corrupt: c.name == "corrupt-next"})
		return ""
	case "partition":
		e.group = map[uint64]int{}
		g := 1
		for _, p := range c.pos {
			if p == "|" {
				g++
				continue
			}
			e.group[c.atoi(t, p)] = g
		}
		return ""
	case "heal":
		e.group = nil
		return ""
	case "propose":
		nd := e.node(c, 0)
		if len(c.pos) < 2 {
			c.fatalf(t, "propose ID DATA [n=K]")
		}
		var data [][]byte
		if n := c.uint(t, "n", 0); n > 0 {
			for i := range n {
				data = append(data, fmt.Appendf(nil, "%s%d", c.pos[1], i))
			}
		} else {
			data = append(data, []byte(c.pos[1]))
		}
		return proposeResult(nd.n.Propose(data...))
	case "propose-conf-change":
		nd := e.node(c, 0)
		if len(c.pos) < 3 {
			c.fatalf(t, "propose-conf-change ID TYPE NODE")
		}
		types := map[string]pb.ConfChangeType{"add-voter": pb.ConfAddVoter, "add-learner": pb.ConfAddLearner, "remove": pb.ConfRemoveNode}
		typ, ok := types[c.pos[1]]
		if !ok {
			c.fatalf(t, "unknown conf change %q", c.pos[1])
		}
		return proposeResult(nd.n.ProposeConfChange(pb.ConfChange{Type: typ, NodeID: c.id(t, 2)}))
	case "transfer-leadership":
		from := e.nodes[c.uint(t, "from", 0)]
		if from == nil {
			c.fatalf(t, "no node from=%s", c.kv["from"])
		}
		return errString(from.n.TransferLeadership(c.uint(t, "to", 0)))
	case "read-index":
		nd := e.node(c, 0)
		if len(c.pos) < 2 {
			c.fatalf(t, "read-index ID CTX")
		}
		return errString(nd.n.ReadIndex([]byte(c.pos[1])))
	case "compact":
		nd := e.node(c, 0)
		idx := c.id(t, 1)
		data := fmt.Sprintf("state-machine-of-%d-at-%d", nd.cfg.ID, idx)
		if v, ok := c.kv["data"]; ok {
			data = v
		}
		s, err := nd.n.Compact(idx, []byte(data), c.uint(t, "keep", 0))
		if err != nil {
			return errString(err)
		}
		nd.store.snap = s
		return fmt.Sprintf("snapshot %s data=%q; log now %d..%d\n", describeSnapMeta(s.Metadata), s.Data, nd.n.r.log.firstIndex(), nd.n.r.log.lastIndex())
	case "restart":
		nd := e.node(c, 0)
		cfg := nd.cfg
		cfg.Peers, cfg.Learners = nil, nil
		cfg.HardState, cfg.Snapshot = nd.store.hs, nd.store.snap
		cfg.Entries = slices.Clone(nd.store.ents)
		cfg.Applied = 0
		n, err := New(cfg)
		if err != nil {
			return errString(err)
		}
		nd.n = n
		return e.statusOf(nd)
	case "status":
		return e.statusOf(e.node(c, 0))
	case "log":
		return e.logOf(e.node(c, 0))
	}
	c.fatalf(t, "unknown command")
	return ""
}

func proposeResult(index, term uint64, err error) string {
	if err != nil {
		return errString(err)
	}
	if index == 0 {
		return "forwarded\n"
	}
	return fmt.Sprintf("index %d term %d\n", index, term)
}

// addNodes adds N nodes with the next ids. Nodes named in voters/learners
// bootstrap with that membership; others start empty and wait for a leader.
// log-terms=(1,1,2) instead gives each new node that log (of normal entries)
// with the membership as of a snapshot at index 0, and term/commit.
func (e *env) addNodes(c ddCmd) string {
	t := e.t
	n := c.id(t, 0)
	voters, learners := c.list(t, "voters"), c.list(t, "learners")
	base := Config{
		ElectionTick:       int(c.uint(t, "election", 10)),
		HeartbeatTick:      int(c.uint(t, "heartbeat", 1)),
		MaxSizePerMsg:      c.uint(t, "max-msg-size", 0),
		MaxInflightMsgs:    int(c.uint(t, "max-inflight", 0)),
		MaxInflightBytes:   c.uint(t, "max-inflight-bytes", 0),
		SnapshotChunkSize:  c.uint(t, "snap-chunk", 0),
		DisablePreVote:     !c.bool(t, "prevote", true),
		DisableCheckQuorum: !c.bool(t, "checkquorum", true),
		ForwardProposals:   c.bool(t, "forward", false),
	}
	switch c.kv["readonly"] {
	case "", "safe":
	case "lease":
		base.ReadOnlyOption = ReadOnlyLeaseBased
	default:
		c.fatalf(t, "readonly=%s", c.kv["readonly"])
	}
	var b strings.Builder
	next := uint64(1)
	for _, id := range e.ids() {
		next = max(next, id+1)
	}
	for id := next; id < next+n; id++ {
		cfg := base
		cfg.ID = id
		cfg.Seed = int64(id)
		cfg.Logger = slog.New(logHandler{e.logs})
		if c.has("log-terms") {
			cfg.Snapshot.Metadata.ConfState = pb.ConfState{Voters: voters, Learners: learners}
			for i, term := range c.list(t, "log-terms") {
				cfg.Entries = append(cfg.Entries, pb.Entry{Term: term, Index: uint64(i + 1), Data: fmt.Appendf(nil, "t%d", term)})
			}
			last := uint64(0)
			if k := len(cfg.Entries); k > 0 {
				last = cfg.Entries[k-1].Term
			}
			cfg.HardState = pb.HardState{Term: c.uint(t, "term", last), Commit: c.uint(t, "commit", 0)}
		} else if slices.Contains(voters, id) || slices.Contains(learners, id) {
			cfg.Peers, cfg.Learners = voters, learners
		}
		nd, err := New(cfg)
		if err != nil {
			fmt.Fprintf(&b, "node %d: %s", id, errString(err))
			continue
		}
		in := &inode{n: nd, cfg: cfg}
		in.store = storage{hs: cfg.HardState, snap: cfg.Snapshot, ents: slices.Clone(cfg.Entries)}
		if cfg.Peers != nil || cfg.Learners != nil {
			in.store = storage{} // the bootstrap still has to be persisted
		}
		e.nodes[id] = in
		fmt.Fprintf(&b, "node %d: %s", id, e.logLine(in))
	}
	return b.String()
}

// processReady handles one node's Ready: print, persist, queue messages,
// Advance.
func (e *env) processReady(nd *inode) string {
	if !nd.n.HasReady() {
		return ""
	}
	rd := nd.n.Ready()
	if err := nd.store.persist(rd); err != nil {
		e.t.Fatalf("node %d: %v", nd.cfg.ID, err)
	}
	e.queue = append(e.queue, rd.Messages...)
	nd.n.Advance(rd)
	return fmt.Sprintf("> %d handling Ready\n%s%s", nd.cfg.ID, indent(describeReady(rd)), indent(e.flushLogs()))
}

func (e *env) cut(from, to uint64) bool {
	if e.group == nil {
		return false
	}
	gf, gt := e.group[from], e.group[to]
	return gf == 0 || gt == 0 || gf != gt
}

// deliver delivers every queued message addressed to one of to (all if to
// is empty), grouped by recipient in id order.
func (e *env) deliver(to []uint64) string {
	var b strings.Builder
	byTo := map[uint64][]pb.Message{}
	var rest []pb.Message
	for _, m := range e.queue {
		if len(to) == 0 || slices.Contains(to, m.To) {
			byTo[m.To] = append(byTo[m.To], m)
		} else {
			rest = append(rest, m)
		}
	}
	e.queue = rest
	var tos []uint64
	for id := range byTo {
		tos = append(tos, id)
	}
	slices.Sort(tos)
	for _, id := range tos {
		fmt.Fprintf(&b, "> %d receiving messages\n", id)
		for _, m := range byTo[id] {
			nd := e.nodes[id]
			if nd == nil {
				fmt.Fprintf(&b, "  %s (dropped: no node %d)\n", describeMessage(m), id)
				continue
			}
			if e.cut(m.From, m.To) {
				fmt.Fprintf(&b, "  %s (dropped: partition)\n", describeMessage(m))
				continue
			}
			if r := e.matchRule(m); r != nil {
				if !r.corrupt {
					fmt.Fprintf(&b, "  %s (dropped)\n", describeMessage(m))
					continue
				}
				m = corrupted(m)
				b.WriteString("  (corrupted in flight)\n")
			}
			fmt.Fprintf(&b, "  %s\n", describeMessage(m))
			var w pb.Message
			if err := w.Unmarshal(m.Marshal()); err != nil {
				e.t.Fatalf("codec: %v", err)
			}
			if err := nd.n.Step(w); err != nil {
				fmt.Fprintf(&b, "  %s", errString(err))
			}
			b.WriteString(indent(e.flushLogs()))
		}
	}
	return b.String()
}

// stabilize alternates Ready handling and delivery until nothing moves.
// With quiet=true only the final state of every node is printed.
func (e *env) stabilize(c ddCmd) string {
	var b strings.Builder
	for range 10000 {
		moved := false
		for _, id := range e.ids() {
			if s := e.processReady(e.nodes[id]); s != "" {
				b.WriteString(s)
				moved = true
			}
		}
		if len(e.queue) > 0 {
			b.WriteString(e.deliver(nil))
			moved = true
		}
		if !moved {
			if c.bool(e.t, "quiet", false) {
				b.Reset()
				for _, id := range e.ids() {
					fmt.Fprintf(&b, "node %d: %s", id, e.logLine(e.nodes[id]))
				}
			}
			return b.String()
		}
	}
	c.fatalf(e.t, "cluster did not stabilize")
	return ""
}

func (e *env) drop(c ddCmd) string {
	to := c.id(e.t, 0)
	typ, nth := c.kv["type"], c.uint(e.t, "nth", 0)
	var b strings.Builder
	var keep []pb.Message
	k := uint64(0)
	for _, m := range e.queue {
		if m.To == to && (typ == "" || m.Type.String() == typ) {
			k++
			if nth == 0 || k == nth {
				fmt.Fprintf(&b, "dropped %s\n", describeMessage(m))
				continue
			}
		}
		keep = append(keep, m)
	}
	e.queue = keep
	return b.String()
}

// matchRule returns (and retires) the rule that fires for m, if any.
func (e *env) matchRule(m pb.Message) *netRule {
	for i := range e.rules {
		r := &e.rules[i]
		if r.to != m.To || (r.typ != "" && r.typ != m.Type.String()) {
			continue
		}
		if r.corrupt && (m.Snapshot == nil || len(m.Snapshot.Data) == 0) {
			continue
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		fired := *r
		e.rules = slices.Delete(e.rules, i, i+1)
		return &fired
	}
	return nil
}

// corrupted returns m with a bit of its snapshot chunk flipped.
func corrupted(m pb.Message) pb.Message {
	s := *m.Snapshot
	s.Data = slices.Clone(s.Data)
	s.Data[0] ^= 0x20
	m.Snapshot = &s
	return m
}

// corruptSnap flips a bit in the first queued snapshot chunk to id.
func (e *env) corruptSnap(c ddCmd) string {
	to := c.id(e.t, 0)
	for i, m := range e.queue {
		if m.To == to && m.Type == pb.MsgSnap && m.Snapshot != nil && len(m.Snapshot.Data) > 0 {
			e.queue[i] = corrupted(m)
			return fmt.Sprintf("corrupted %s\n", describeMessage(e.queue[i]))
		}
	}
	return "no snapshot chunk queued\n"
}

func (e *env) logLine(nd *inode) string {
	r := nd.n.r
	return fmt.Sprintf("%s term=%d vote=%d lead=%d log=%d..%d commit=%d applied=%d voters=%s learners=%s\n",
		r.state, r.term, r.vote, r.lead, r.log.firstIndex(), r.log.lastIndex(), r.log.committed, r.log.applied,
		describeIDs(r.voters), describeIDs(r.learners))
}

func (e *env) statusOf(nd *inode) string {
	s := nd.n.Status()
	var b strings.Builder
	fmt.Fprintf(&b, "%d: %s term=%d vote=%d lead=%d commit=%d applied=%d log=%d..%d snap=%d transferee=%d voters=%s learners=%s\n",
		s.ID, s.State, s.Term, s.Vote, s.Lead, s.Commit, s.Applied, s.FirstIndex, s.LastIndex, s.SnapshotIndex,
		s.LeadTransferee, describeIDs(s.ConfState.Voters), describeIDs(s.ConfState.Learners))
	var ids []uint64
	for id := range s.Progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := s.Progress[id]
		fmt.Fprintf(&b, "  %d: match=%d next=%d %s", id, p.Match, p.Next, p.State)
		if p.RecentActive {
			b.WriteString(" active")
		}
		if p.Learner {
			b.WriteString(" learner")
		}
		if pr := nd.n.r.prs[id]; pr != nil && id != s.ID && len(pr.inflight.idx) > 0 {
			fmt.Fprintf(&b, " inflight=%d/%dB", len(pr.inflight.idx), pr.inflight.bytes)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (e *env) logOf(nd *inode) string {
	l := nd.n.r.log
	var b strings.Builder
	fmt.Fprintf(&b, "log %d..%d committed=%d applied=%d stabled=%d snap=%d/%d\n",
		l.firstIndex(), l.lastIndex(), l.committed, l.applied, l.stabled, l.snap.Metadata.Term, l.snap.Metadata.Index)
	for _, en := range l.ents {
		fmt.Fprintf(&b, "  %s\n", describeEntry(en))
	}
	return b.String()
}
