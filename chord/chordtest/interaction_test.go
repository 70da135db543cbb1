package chordtest

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/script"
)

// TestInteraction runs the scripts in testdata/*.txt against a small Mesh.
// A script is a sequence of blocks:
//
//	# comments and blank lines between blocks are kept on -rewrite
//	command pos1 pos2 key=value key=(a,b,c)
//	----
//	expected output, up to the next blank line
//
// "stabilize all rounds=N" runs N rounds of stabilize on every live
// member, each to quiescence, and reports the traffic of all of them.
// Members are named by their index (n0, n1, ...); ids and keys are hex
// prefixes, padded with zeros to 40 digits, so that rings read well. By
// default the periodic tasks are off: nothing moves unless a command says
// so. Requests and "stabilize"/"fix" run the network to quiescence (no
// ticks); "tick" and "run" advance the clock. Regenerate the expected
// output with
//
//	go test ./chord/chordtest -run TestInteraction -rewrite
//
// and read the diff: a changed line is a changed protocol behaviour.
func TestInteraction(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			script.Run(t, path, newEnv(t).handle)
		})
	}
}

type cmd = script.Cmd

// env is one script's mesh and what it has printed.
type env struct {
	t     *testing.T
	mc    Config
	nc    chord.Config // node settings the script chose
	m     *Mesh
	req   uint64
	seen  [16]uint64 // mesh.ByType when last printed
	drops uint64
	trace map[chord.MsgType]bool
	lines []string // traced deliveries since last printed
}

func newEnv(t *testing.T) *env {
	return &env{t: t, mc: Config{Seed: 1},
		nc: chord.Config{Successors: 3, StabilizeTicks: -1, FixFingerTicks: -1, CheckPredTicks: -1}}
}

func (e *env) fatalf(c cmd, format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s: %s: %s", c.Where, c.Name, fmt.Sprintf(format, args...))
}

// mesh returns the mesh, creating it with the settings so far.
func (e *env) mesh() *Mesh {
	if e.m == nil {
		nc := e.nc
		e.mc.Node = func(c *chord.Config) {
			c.Successors, c.StabilizeTicks, c.FixFingerTicks = nc.Successors, nc.StabilizeTicks, nc.FixFingerTicks
			c.CheckPredTicks, c.FailureTicks, c.RequestTicks = nc.CheckPredTicks, nc.FailureTicks, nc.RequestTicks
		}
		e.m = New(e.mc)
		e.m.Trace = func(from, to *Member, msg *chord.Message, _ time.Duration) {
			if e.trace[msg.Type] {
				e.lines = append(e.lines, fmt.Sprintf("  n%d -> n%d %s", from.Index, to.Index, e.fmtMsg(msg)))
			}
		}
	}
	return e.m
}

func (e *env) handle(c cmd) string {
	e.t.Helper()
	switch c.Name {
	case "mesh":
		return e.cmdMesh(c)
	case "add":
		return e.cmdAdd(c)
	case "bootstrap":
		if err := e.node(c, 0).Bootstrap(); err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	case "join":
		x, gw := e.node(c, 0), e.node(c, 2)
		if len(c.Pos) != 3 || c.Pos[1] != "via" {
			e.fatalf(c, "want: join N via M")
		}
		e.req++
		req := e.req
		e.mesh().Do(x, func(n *chord.Node) { n.Join(req, gw.Self()) })
		return e.settle(c, "FindSuccessor", "FoundSuccessor")
	case "stabilize", "fix", "check-peers":
		rounds := max(1, e.int(c, "rounds"))
		for range rounds - 1 {
			for _, x := range e.nodes(c) {
				e.mesh().Do(x, func(n *chord.Node) { n.Stabilize() })
			}
			e.mesh().Quiesce(1_000_000)
		}
		for _, x := range e.nodes(c) {
			e.mesh().Do(x, func(n *chord.Node) {
				switch c.Name {
				case "stabilize":
					n.Stabilize()
				case "check-peers":
					n.CheckPeers()
				default:
					// A finger lookup at a time, to quiescence each, until
					// the round wraps.
					for range id.Bits {
						n.FixFinger()
						e.mesh().flush(x)
						e.mesh().Quiesce(1_000_000)
						if n.Status().Requests == 0 && n.Fingers()[0].ID != (id.ID{}) && nextIsZero(n) {
							return
						}
					}
				}
			})
		}
		return e.settle(c, "GetPredecessor", "Predecessor", "Notify")
	case "lookup":
		key := e.key(c, 1)
		e.req++
		req := e.req
		e.mesh().Do(e.node(c, 0), func(n *chord.Node) { n.Lookup(req, key) })
		return e.settle(c, "FindSuccessor", "FoundSuccessor")
	case "quiesce":
		return e.settle(c)
	case "tick", "run":
		d := e.duration(c)
		e.setTrace(c)
		e.mesh().Run(d)
		return e.report()
	case "kill":
		e.mesh().Kill(e.node(c, 0).Host)
		return "ok"
	case "leave":
		e.mesh().Leave(e.node(c, 0).Host)
		return e.settle(c, "Leave")
	case "ring":
		return e.cmdRing(c)
	case "fingers":
		return e.cmdFingers(c)
	case "check":
		return e.cmdCheck(c)
	case "step":
		return e.cmdStep(c)
	}
	e.fatalf(c, "unknown command")
	return ""
}

// nextIsZero reports whether n's fix_fingers round is back at finger 0:
// the finger table's last entry is known or the node is alone.
func nextIsZero(n *chord.Node) bool {
	f := n.Fingers()
	return f[len(f)-1].ID != (id.ID{})
}

func (e *env) cmdMesh(c cmd) string {
	if e.m != nil {
		e.fatalf(c, "the mesh exists already")
	}
	ints := map[string]*int{"succs": &e.nc.Successors, "stabilize": &e.nc.StabilizeTicks,
		"fix": &e.nc.FixFingerTicks, "check": &e.nc.CheckPredTicks, "failure": &e.nc.FailureTicks,
		"request": &e.nc.RequestTicks}
	for k, v := range c.KV {
		switch {
		case ints[k] != nil:
			n, err := strconv.Atoi(v)
			if err != nil {
				e.fatalf(c, "bad %s=%q", k, v)
			}
			*ints[k] = n
		case k == "seed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				e.fatalf(c, "bad seed %q", v)
			}
			e.mc.Seed = n
		default:
			e.fatalf(c, "unknown setting %s", k)
		}
	}
	e.mesh()
	return "ok"
}

// cmdAdd: add N id=HEX [at=(x,y)], or add N ids=(HEX,HEX,...) for a host
// with virtual nodes (numbered N, N+1, ...). N must be the next index.
func (e *env) cmdAdd(c cmd) string {
	m := e.mesh()
	if len(c.Pos) != 1 || c.Pos[0] != strconv.Itoa(len(m.Members())) {
		e.fatalf(c, "want: add %d id=HEX (members are numbered in order)", len(m.Members()))
	}
	var ids []id.ID
	if v, ok := c.KV["id"]; ok {
		ids = append(ids, e.hex(c, v))
	}
	for _, s := range c.List("ids") {
		ids = append(ids, e.hex(c, s))
	}
	if len(ids) == 0 {
		e.fatalf(c, "want id=HEX or ids=(...)")
	}
	h := m.NewHostWithIDs(ids...)
	if at := c.List("at"); at != nil {
		if len(at) != 2 {
			e.fatalf(c, "want at=(x,y)")
		}
		var err1, err2 error
		h.X, err1 = strconv.ParseFloat(at[0], 64)
		h.Y, err2 = strconv.ParseFloat(at[1], 64)
		if err1 != nil || err2 != nil {
			e.fatalf(c, "bad at=(%s)", c.KV["at"])
		}
	}
	var names []string
	for _, x := range h.Members {
		names = append(names, fmt.Sprintf("n%d %s", x.Index, short(x.Self().ID)))
	}
	return fmt.Sprintf("%s on %s at (%.2f,%.2f)", strings.Join(names, ", "), h.Addr, h.X, h.Y)
}

// settle runs the network to quiescence, tracing the given message types
// unless the command says trace=(...), and reports what happened.
func (e *env) settle(c cmd, trace ...string) string {
	e.setTrace(c, trace...)
	var out string
	if !e.mesh().Quiesce(1_000_000) {
		out = "not quiet after 1000000 messages\n"
	}
	return out + e.report()
}

func (e *env) setTrace(c cmd, def ...string) {
	names := def
	if _, ok := c.KV["trace"]; ok {
		names = c.List("trace")
	}
	e.trace = map[chord.MsgType]bool{}
	for _, s := range names {
		t, ok := msgType(s)
		if !ok {
			e.fatalf(c, "unknown message type %q", s)
		}
		e.trace[t] = true
	}
}

// report prints the messages sent since the last report, by type, the
// traced deliveries and every member's new results.
func (e *env) report() string {
	m := e.mesh()
	var b strings.Builder
	var counts []string
	for t := chord.MsgType(1); int(t) < len(m.ByType); t++ {
		if n := m.ByType[t] - e.seen[t]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s=%d", t, n))
		}
	}
	e.seen = m.ByType
	if len(counts) > 0 {
		fmt.Fprintf(&b, "msgs: %s\n", strings.Join(counts, " "))
	}
	if d := m.Dropped - e.drops; d > 0 {
		fmt.Fprintf(&b, "dropped: %d\n", d)
	}
	e.drops = m.Dropped
	for _, l := range e.lines {
		b.WriteString(l + "\n")
	}
	e.lines = nil
	for _, x := range m.Members() {
		for _, r := range x.Results {
			fmt.Fprintf(&b, "n%d %s\n", x.Index, e.fmtResult(r))
		}
		x.Results = nil
	}
	return b.String()
}

func (e *env) fmtResult(r chord.Result) string {
	switch {
	case r.Kind == chord.ResultJoined && r.Err != nil:
		return "join: " + fmtErr(r.Err)
	case r.Kind == chord.ResultJoined:
		return "joined, successors " + e.fmtEntries(r.Successors)
	case r.Err != nil:
		return fmt.Sprintf("lookup %s: %s", short(r.Key), fmtErr(r.Err))
	}
	s := fmt.Sprintf("lookup %s: %s (hops=%d path=%s)", short(r.Key), e.fmtEntries(r.Successors), r.Hops,
		e.fmtEntries(r.Path))
	if want := e.mesh().TrueSuccessors(r.Key, 1); len(want) > 0 && len(r.Successors) > 0 && want[0].ID != r.Successors[0].ID {
		s += " (but the successor is " + e.name(want[0].ID) + ")"
	}
	return s
}

func fmtErr(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{{chord.ErrTimeout, "ErrTimeout"}, {chord.ErrLeft, "ErrLeft"}, {chord.ErrNotJoined, "ErrNotJoined"},
		{chord.ErrWrongNode, "ErrWrongNode"}, {chord.ErrMalformed, "ErrMalformed"}} {
		if errors.Is(err, s.err) {
			return s.name + ": " + err.Error()
		}
	}
	return err.Error()
}

// cmdRing prints every member's state: predecessor, successor list.
func (e *env) cmdRing(c cmd) string {
	var b strings.Builder
	for _, x := range e.mesh().Members() {
		st := x.Status()
		up := ""
		if !x.Host.Up {
			up = " (down)"
		}
		pred := "none"
		if p, ok := x.Predecessor(); ok {
			pred = e.name(p.ID)
		}
		fmt.Fprintf(&b, "n%d %s %s%s: pred=%s succs=%s\n", x.Index, short(st.ID), st.State, up, pred,
			e.fmtEntries(x.Successors()))
	}
	return b.String()
}

// cmdFingers prints a member's fingers as ranges of indexes with the same
// node.
func (e *env) cmdFingers(c cmd) string {
	fs := e.node(c, 0).Fingers()
	var b strings.Builder
	for i := 0; i < len(fs); {
		j := i
		for j+1 < len(fs) && fs[j+1].ID == fs[i].ID {
			j++
		}
		who := "?"
		if fs[i].ID != (id.ID{}) {
			who = e.name(fs[i].ID)
		}
		fmt.Fprintf(&b, "%d-%d: %s\n", i, j, who)
		i = j + 1
	}
	return b.String()
}

// cmdCheck checks the ring (Consistent, and ConsistentLists with
// lists=true) and that lookups of a few keys from every live member give
// the oracle's successor.
func (e *env) cmdCheck(c cmd) string {
	m := e.mesh()
	var bad []string
	check := m.Consistent
	if c.KV["lists"] == "true" {
		check = m.ConsistentLists
	}
	if err := check(); err != nil {
		bad = append(bad, err.Error())
	}
	var keys []id.ID
	for _, s := range []string{"0", "3c", "7", "a5", "f"} {
		keys = append(keys, e.hex(c, s))
	}
	n := 0
	for _, x := range m.Live() {
		for _, k := range keys {
			e.req++
			req := e.req
			n++
			m.Do(x, func(nd *chord.Node) { nd.Lookup(req, k) })
			m.Quiesce(1_000_000)
			r, ok := x.Take(chord.ResultLookup, req)
			want := m.TrueSuccessors(k, 1)
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("n%d lookup %s: no answer", x.Index, short(k)))
			case r.Err != nil:
				bad = append(bad, fmt.Sprintf("n%d lookup %s: %s", x.Index, short(k), fmtErr(r.Err)))
			case r.Successors[0].ID != want[0].ID:
				bad = append(bad, fmt.Sprintf("n%d lookup %s: %s, but the successor is %s", x.Index, short(k),
					e.name(r.Successors[0].ID), e.name(want[0].ID)))
			}
		}
	}
	// The lookups' traffic is the check's own: leave it out of the counts.
	e.seen, e.drops, e.lines = m.ByType, m.Dropped, nil
	if len(bad) > 0 {
		return strings.Join(bad, "\n")
	}
	return fmt.Sprintf("ok: ring consistent, %d lookups find the true successor", n)
}

// cmdStep hands member N a hand-made message, prints Step's error, then
// runs the network to quiescence like any request.
//
//	step N type=T [to=HEX|none] [from=M|none] [origin=M|none] [key=HEX]
//	       [hops=H] [seq=S] [pred=M] [succs=K] [path=K]
func (e *env) cmdStep(c cmd) string {
	x := e.node(c, 0)
	msg := chord.Message{To: x.Self(), Seq: e.uint(c, "seq")}
	if s, ok := c.KV["type"]; ok {
		t, ok := msgType(s)
		if !ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				e.fatalf(c, "bad type %q", s)
			}
			t = chord.MsgType(n)
		}
		msg.Type = t
	}
	ent := func(k string) chord.Entry {
		switch v := c.KV[k]; v {
		case "", "none":
			return chord.Entry{}
		default:
			return e.member(c, v).Self()
		}
	}
	msg.From, msg.Origin, msg.Pred = ent("from"), ent("origin"), ent("pred")
	if v, ok := c.KV["to"]; ok {
		msg.To.ID = id.ID{}
		if v != "none" {
			msg.To.ID = e.hex(c, v)
		}
	}
	if v, ok := c.KV["key"]; ok {
		msg.Key = e.hex(c, v)
	}
	msg.Hops = e.int(c, "hops")
	for range e.int(c, "succs") {
		msg.Succs = append(msg.Succs, msg.From)
	}
	for range e.int(c, "path") {
		msg.Path = append(msg.Path, msg.From)
	}
	before := x.Status()
	err := x.Step(msg)
	out := "accepted\n"
	if err != nil {
		out = "error: " + fmtErr(err) + "\n"
	}
	if after := x.Status(); after.Successor != before.Successor || after.Predecessor != before.Predecessor {
		out += fmt.Sprintf("n%d changed: pred %s -> %s, succ %s -> %s\n", x.Index,
			e.name(before.Predecessor.ID), e.name(after.Predecessor.ID), e.name(before.Successor.ID),
			e.name(after.Successor.ID))
	}
	e.mesh().Do(x, func(*chord.Node) {})
	var all []string
	for t := chord.MsgType(1); !strings.HasPrefix(t.String(), "MsgType("); t++ {
		all = append(all, t.String())
	}
	return out + e.settle(c, all...)
}

func msgType(s string) (chord.MsgType, bool) {
	for t := chord.MsgType(1); ; t++ {
		name := t.String()
		if strings.HasPrefix(name, "MsgType(") {
			return 0, false
		}
		if name == s {
			return t, true
		}
	}
}

// fmtMsg prints the fields of a message that its type uses.
func (e *env) fmtMsg(m *chord.Message) string {
	s := m.Type.String()
	switch m.Type {
	case chord.MsgFindSuccessor:
		s += fmt.Sprintf(" key=%s origin=%s hops=%d", short(m.Key), e.name(m.Origin.ID), m.Hops)
	case chord.MsgFoundSuccessor:
		s += fmt.Sprintf(" key=%s succs=%s path=%s", short(m.Key), e.fmtEntries(m.Succs), e.fmtEntries(m.Path))
	case chord.MsgPredecessor:
		pred := "none"
		if !m.Pred.IsZero() {
			pred = e.name(m.Pred.ID)
		}
		s += fmt.Sprintf(" pred=%s succs=%s", pred, e.fmtEntries(m.Succs))
	case chord.MsgLeave:
		pred := "none"
		if !m.Pred.IsZero() {
			pred = e.name(m.Pred.ID)
		}
		s += fmt.Sprintf(" pred=%s succs=%s", pred, e.fmtEntries(m.Succs))
	case chord.MsgPong:
		s += " rtt=" + m.RTT.Round(time.Millisecond).String()
	}
	return s
}

func (e *env) fmtEntries(es []chord.Entry) string {
	if len(es) == 0 {
		return "()"
	}
	var parts []string
	for _, x := range es {
		parts = append(parts, e.name(x.ID))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// name is "n3:1234" for a member, the short id otherwise.
func (e *env) name(x id.ID) string {
	if x == (id.ID{}) {
		return "none"
	}
	if y := e.mesh().Member(x); y != nil {
		return fmt.Sprintf("n%d:%s", y.Index, short(x))
	}
	return short(x)
}

// short prints an id without its trailing zeros, at least 4 digits; a
// long one is cut to 8 digits and marked.
func short(x id.ID) string {
	s := strings.TrimRight(x.String(), "0")
	if len(s) < 4 {
		return x.Short(4)
	}
	if len(s) > 8 {
		return s[:8] + ".."
	}
	return s
}

func (e *env) key(c cmd, i int) id.ID {
	if i >= len(c.Pos) {
		e.fatalf(c, "missing argument %d", i+1)
	}
	return e.hex(c, c.Pos[i])
}

// hex reads a hex prefix, padded with zeros to a full id.
func (e *env) hex(c cmd, s string) id.ID {
	x, err := id.Parse(s + strings.Repeat("0", max(0, id.Digits-len(s))))
	if err != nil || s == "" {
		e.fatalf(c, "bad id %q", s)
	}
	return x
}

// nodes reads positional arguments as members; "all" (or none) is every
// live joined member.
func (e *env) nodes(c cmd) []*Member {
	if len(c.Pos) == 0 || c.Pos[0] == "all" {
		return e.mesh().Live()
	}
	var out []*Member
	for i := range c.Pos {
		out = append(out, e.node(c, i))
	}
	return out
}

func (e *env) node(c cmd, i int) *Member {
	if i >= len(c.Pos) {
		e.fatalf(c, "missing node argument %d", i+1)
	}
	return e.member(c, c.Pos[i])
}

func (e *env) member(c cmd, s string) *Member {
	i, err := strconv.Atoi(strings.TrimPrefix(s, "n"))
	if err != nil || i < 0 || i >= len(e.mesh().Members()) {
		e.fatalf(c, "no node %q", s)
	}
	return e.mesh().Members()[i]
}

// duration reads tick N (ticks) or run D (a duration).
func (e *env) duration(c cmd) time.Duration {
	tick := e.mc.Tick
	if tick == 0 {
		tick = 100 * time.Millisecond // the mesh's default
	}
	d, err := c.Duration(tick)
	if err != nil {
		e.fatalf(c, "%v", err)
	}
	return d
}

func (e *env) int(c cmd, k string) int {
	n, err := c.Int(k)
	if err != nil {
		e.fatalf(c, "%v", err)
	}
	return n
}

func (e *env) uint(c cmd, k string) uint64 {
	n, err := c.Uint(k)
	if err != nil {
		e.fatalf(c, "%v", err)
	}
	return n
}
