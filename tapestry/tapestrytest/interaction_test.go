package tapestrytest

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/script"
	"github.com/puddlestore/puddlestore/tapestry"
)

// TestInteraction runs the scripts in testdata/*.txt against a small Mesh.
// A script is a sequence of blocks:
//
//	# comments and blank lines between blocks are kept on -rewrite
//	command pos1 pos2 key=value key=(a,b,c)
//	----
//	expected output, up to the next blank line
//
// Nodes are named by their index in the mesh (n0, n1, ...); ids and keys
// are given as hex prefixes, padded with zeros to 40 digits, so that tables
// read well. Nothing moves unless a command says so: requests run the
// network to quiescence (no ticks), tick and run advance the clock.
// Regenerate the expected output with
//
//	go test ./tapestry/tapestrytest -run TestInteraction -rewrite
//
// and read the diff: a changed line is a changed protocol behaviour.
func TestInteraction(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			runScript(t, path, newEnv(t).handle)
		})
	}
}

// cmd is one parsed script command (internal/script).
type cmd = script.Cmd

func runScript(t *testing.T, path string, handle func(cmd) string) { script.Run(t, path, handle) }

// env is one script's mesh and what the script has named.
type env struct {
	t     *testing.T
	mc    Config
	nc    tapestry.Config // node settings the script chose
	m     *Mesh
	req   uint64
	salt  map[id.ID]saltRef // salted key -> object and salt index
	objs  []id.ID           // objects named so far, in order
	seen  [32]uint64        // mesh.ByType when last printed
	drops uint64
	trace map[tapestry.MsgType]bool
	lines []string // traced deliveries since last printed
}

type saltRef struct {
	obj id.ID
	i   int
}

func newEnv(t *testing.T) *env {
	return &env{t: t, mc: Config{Seed: 1}, salt: map[id.ID]saltRef{},
		nc: tapestry.Config{HeartbeatTicks: -1, RepublishTicks: -1, MaintainTicks: -1}}
}

func (e *env) fatalf(c cmd, format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s: %s: %s", c.Where, c.Name, fmt.Sprintf(format, args...))
}

// mesh returns the mesh, creating it with the settings so far.
func (e *env) mesh() *Mesh {
	if e.m == nil {
		nc := e.nc
		e.mc.Node = func(c *tapestry.Config) {
			c.SlotSize, c.Salts, c.SearchWidth = nc.SlotSize, nc.Salts, nc.SearchWidth
			c.HeartbeatTicks, c.FailureTicks = nc.HeartbeatTicks, nc.FailureTicks
			c.RepublishTicks, c.PointerTTLTicks = nc.RepublishTicks, nc.PointerTTLTicks
			c.PublishBackups, c.RequestTicks, c.MaintainTicks = nc.PublishBackups, nc.RequestTicks, nc.MaintainTicks
		}
		e.m = New(e.mc)
		e.m.Trace = func(from, to *Member, msg *tapestry.Message, _ time.Duration) {
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
		var err error
		e.mesh().Do(x, func(n *tapestry.Node) { err = n.Join(e.req, gw.Self().Addr) })
		if err != nil {
			return "error: " + err.Error()
		}
		return e.settle(c, "Multicast", "JoinReply")
	case "quiesce":
		return e.settle(c)
	case "tick", "run":
		d := e.duration(c)
		e.setTrace(c)
		e.mesh().Run(d)
		return e.report()
	case "kill":
		e.mesh().Kill(e.node(c, 0))
		return "ok"
	case "leave":
		e.mesh().Do(e.node(c, 0), func(n *tapestry.Node) { n.Leave() })
		return e.settle(c, "Leave")
	case "route":
		key := e.key(c, 1)
		e.req++
		e.mesh().Do(e.node(c, 0), func(n *tapestry.Node) { n.Route(e.req, key) })
		return e.settle(c)
	case "publish", "unpublish":
		x, key := e.node(c, 0), e.object(c, 1)
		e.req++
		e.mesh().Do(x, func(n *tapestry.Node) {
			if c.Name == "publish" {
				n.Publish(e.req, key)
			} else {
				n.Unpublish(key)
			}
		})
		return e.settle(c, "Publish", "Unpublish")
	case "locate":
		x, key := e.node(c, 0), e.object(c, 1)
		var ex []id.ID
		for _, s := range c.List("exclude") {
			ex = append(ex, e.member(c, s).Self().ID)
		}
		e.req++
		e.mesh().Do(x, func(n *tapestry.Node) { n.Locate(e.req, key, ex) })
		return e.settle(c, "LocateReply")
	case "roots":
		return e.cmdRoots(c)
	case "table":
		return e.cmdTable(c)
	case "backpointers":
		return e.cmdBackpointers(c)
	case "pointers":
		return e.cmdPointers(c)
	case "status":
		return e.cmdStatus(c)
	case "check":
		return e.cmdCheck(c)
	case "step":
		return e.cmdStep(c)
	}
	e.fatalf(c, "unknown command")
	return ""
}

func (e *env) cmdMesh(c cmd) string {
	if e.m != nil {
		e.fatalf(c, "the mesh exists already")
	}
	ints := map[string]*int{"slot": &e.nc.SlotSize, "salts": &e.nc.Salts, "width": &e.nc.SearchWidth,
		"heartbeat": &e.nc.HeartbeatTicks, "failure": &e.nc.FailureTicks, "republish": &e.nc.RepublishTicks,
		"ttl": &e.nc.PointerTTLTicks, "request": &e.nc.RequestTicks, "maintain": &e.nc.MaintainTicks}
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
		case k == "backups":
			e.nc.PublishBackups = v == "true"
		default:
			e.fatalf(c, "unknown setting %s", k)
		}
	}
	e.mesh()
	return "ok"
}

// cmdAdd: add N id=HEX [at=(x,y)]; N must be the next index.
func (e *env) cmdAdd(c cmd) string {
	m := e.mesh()
	if len(c.Pos) != 1 || c.Pos[0] != strconv.Itoa(len(m.Members())) {
		e.fatalf(c, "want: add %d id=HEX (nodes are numbered in order)", len(m.Members()))
	}
	x := m.AddWithID(e.hex(c, c.KV["id"]))
	if at := c.List("at"); at != nil {
		if len(at) != 2 {
			e.fatalf(c, "want at=(x,y)")
		}
		var err1, err2 error
		x.X, err1 = strconv.ParseFloat(at[0], 64)
		x.Y, err2 = strconv.ParseFloat(at[1], 64)
		if err1 != nil || err2 != nil {
			e.fatalf(c, "bad at=(%s)", c.KV["at"])
		}
	}
	return fmt.Sprintf("n%d %s at (%.2f,%.2f)", x.Index, short(x.Self().ID), x.X, x.Y)
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
	e.trace = map[tapestry.MsgType]bool{}
	for _, s := range names {
		t, ok := msgType(s)
		if !ok {
			e.fatalf(c, "unknown message type %q", s)
		}
		e.trace[t] = true
	}
}

// report prints the messages sent since the last report, by type, the
// traced deliveries and every node's new results.
func (e *env) report() string {
	m := e.mesh()
	var b strings.Builder
	var counts []string
	for t := tapestry.MsgType(1); int(t) < len(m.ByType); t++ {
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

func (e *env) fmtResult(r tapestry.Result) string {
	what := [...]string{"", "join", "publish", "locate", "route"}[r.Kind]
	key := short(r.Key) // an object, or a node's own id
	if r.Kind == tapestry.ResultRoute {
		key = e.fmtKey(r.Key)
	}
	if r.Err != nil {
		return fmt.Sprintf("%s %s: %s", what, key, fmtErr(r.Err))
	}
	switch r.Kind {
	case tapestry.ResultJoined:
		return "joined"
	case tapestry.ResultPublish:
		return "published " + key
	case tapestry.ResultLocate:
		return fmt.Sprintf("located %s at %s", key, e.fmtEntries(r.Holders, true))
	case tapestry.ResultRoute:
		s := fmt.Sprintf("route %s: %s", e.fmtKey(r.Key), e.fmtEntries(r.Path, false))
		if root := e.root(r.Key); len(r.Path) > 0 && root != e.name(r.Path[len(r.Path)-1].ID) {
			s += " (but the root is " + root + ")"
		}
		return s
	}
	return fmt.Sprintf("result %d", r.Kind)
}

func fmtErr(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{{tapestry.ErrNotFound, "ErrNotFound"}, {tapestry.ErrTimeout, "ErrTimeout"}, {tapestry.ErrLeft, "ErrLeft"},
		{tapestry.ErrWrongNode, "ErrWrongNode"}, {tapestry.ErrMalformed, "ErrMalformed"}} {
		if errors.Is(err, s.err) {
			return s.name + ": " + err.Error()
		}
	}
	return err.Error()
}

// cmdRoots prints an object's salted keys and the root of each.
func (e *env) cmdRoots(c cmd) string {
	obj := e.object(c, 0)
	var b strings.Builder
	for i, k := range tapestry.SaltedKeys(obj, e.salts()) {
		fmt.Fprintf(&b, "%s#%d %s: root %s\n", short(obj), i, k.Short(8), e.root(k))
	}
	return b.String()
}

func (e *env) cmdTable(c cmd) string {
	x := e.node(c, 0)
	t := x.Table()
	var b strings.Builder
	for l := 0; l <= t.Deepest(); l++ {
		for d := range id.Base {
			if s := t.Slot(l, d); len(s) > 0 {
				fmt.Fprintf(&b, "level %d digit %x: %s\n", l, d, e.fmtEntries(s, true))
			}
		}
	}
	if b.Len() == 0 {
		return "empty"
	}
	return b.String()
}

func (e *env) cmdBackpointers(c cmd) string {
	bp := e.node(c, 0).Backpointers()
	var b strings.Builder
	for l := range id.Digits {
		if es := bp.AtLevel(l); len(es) > 0 {
			fmt.Fprintf(&b, "level %d: %s\n", l, e.fmtEntries(es, false))
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

func (e *env) cmdStatus(c cmd) string {
	x := e.node(c, 0)
	s := x.Status()
	up := "up"
	if !x.Up {
		up = "down"
	}
	return fmt.Sprintf("n%d %s %s %s tick=%d neighbours=%d backpointers=%d pointers=%d published=%d",
		x.Index, short(s.ID), up, s.State, s.Tick, s.Neighbours, s.Backpointers, s.Pointers, s.Published)
}

// cmdPointers prints, for every object the script has named (or those
// given), the pointers node N holds: server, the salted route that left
// it, where the publish went next (root: here), the estimated round-trip
// time to the server, and whether it is a backup's copy.
func (e *env) cmdPointers(c cmd) string {
	x := e.node(c, 0)
	objs := e.objs
	if len(c.Pos) > 1 {
		objs = nil
		for i := 1; i < len(c.Pos); i++ {
			objs = append(objs, e.object(c, i))
		}
	}
	var b strings.Builder
	for _, obj := range objs {
		for _, p := range x.PointersFor(obj) {
			next := "root"
			if p.Next != (id.ID{}) {
				next = "next=" + e.name(p.Next)
			}
			if p.Deposit {
				next = "backup"
			}
			fmt.Fprintf(&b, "%s: %s via %s %s rtt=%v\n", short(obj), e.name(p.Server.ID), e.fmtKey(p.Route), next,
				p.Server.RTT.Round(time.Millisecond))
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// cmdCheck checks the tables (mesh.CheckTables) and that the route from
// every live joined node to some keys ends at the root the oracle names.
// Keys: keys=(...), else every salted key of the objects named so far and
// a few fixed ones.
func (e *env) cmdCheck(c cmd) string {
	m := e.mesh()
	bad := m.CheckTables(20)
	var keys []id.ID
	if _, ok := c.KV["keys"]; ok {
		for _, s := range c.List("keys") {
			keys = append(keys, e.hex(c, s))
		}
	} else {
		for _, o := range e.objs {
			keys = append(keys, tapestry.SaltedKeys(o, e.salts())...)
		}
		for _, s := range []string{"0", "3c", "7", "a5", "f"} {
			keys = append(keys, e.hex(c, s))
		}
	}
	routes := 0
	for _, x := range m.Members() {
		if !x.Up || !x.Joined() {
			continue
		}
		for _, k := range keys {
			req := 1<<40 + uint64(routes)
			routes++
			m.Do(x, func(n *tapestry.Node) { n.Route(req, k) })
			m.Quiesce(1_000_000)
			r, ok := x.Take(tapestry.ResultRoute, req)
			root := e.root(k)
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("n%d route %s: no answer", x.Index, e.fmtKey(k)))
			case r.Err != nil:
				bad = append(bad, fmt.Sprintf("n%d route %s: %s", x.Index, e.fmtKey(k), fmtErr(r.Err)))
			case root != e.name(r.Path[len(r.Path)-1].ID):
				bad = append(bad, fmt.Sprintf("n%d route %s: %s, but the root is %s", x.Index, e.fmtKey(k),
					e.fmtEntries(r.Path, false), root))
			}
		}
	}
	// The routes' traffic is the check's own: leave it out of the counts.
	e.seen, e.drops, e.lines = m.ByType, m.Dropped, nil
	if len(bad) > 0 {
		return strings.Join(bad, "\n")
	}
	return fmt.Sprintf("ok: tables consistent, %d routes end at their roots", routes)
}

// cmdStep hands node N a hand-made message, prints Step's error, then
// runs the network to quiescence like any request.
//
//	step N type=T [to=HEX|none] [from=M|none] [origin=M|none] [key=HEX]
//	       [level=L] [digit=D] [hops=H] [seq=S] [flag=true] [entries=K]
func (e *env) cmdStep(c cmd) string {
	x := e.node(c, 0)
	msg := tapestry.Message{To: x.Self().ID, Seq: e.uint(c, "seq")}
	if s, ok := c.KV["type"]; ok {
		t, ok := msgType(s)
		if !ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				e.fatalf(c, "bad type %q", s)
			}
			t = tapestry.MsgType(n)
		}
		msg.Type = t
	}
	ent := func(k string) tapestry.Entry {
		switch v := c.KV[k]; v {
		case "", "none":
			return tapestry.Entry{}
		default:
			y := e.member(c, v)
			return tapestry.Entry{ID: y.Self().ID, Addr: y.Self().Addr}
		}
	}
	msg.From, msg.Origin = ent("from"), ent("origin")
	if v, ok := c.KV["to"]; ok {
		msg.To = id.ID{}
		if v != "none" {
			msg.To = e.hex(c, v)
		}
	}
	if v, ok := c.KV["key"]; ok {
		msg.Key = e.hex(c, v)
		msg.Object = msg.Key
	}
	msg.Level, msg.Digit, msg.Hops = e.int(c, "level"), e.int(c, "digit"), e.int(c, "hops")
	msg.Flag = c.KV["flag"] == "true"
	for range e.int(c, "entries") {
		msg.Entries = append(msg.Entries, msg.From)
	}
	before := x.Table().Len()
	err := x.Step(msg)
	out := "accepted\n"
	if err != nil {
		out = "error: " + fmtErr(err) + "\n"
	}
	if after := x.Table().Len(); after != before {
		out += fmt.Sprintf("table of n%d: %d -> %d entries\n", x.Index, before, after)
	}
	// What the node sent in answer goes out, traced unless trace=(...).
	e.mesh().Do(x, func(*tapestry.Node) {})
	var all []string
	for t := tapestry.MsgType(1); !strings.HasPrefix(t.String(), "MsgType("); t++ {
		all = append(all, t.String())
	}
	return out + e.settle(c, all...)
}

func msgType(s string) (tapestry.MsgType, bool) {
	for t := tapestry.MsgType(1); ; t++ {
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
func (e *env) fmtMsg(m *tapestry.Message) string {
	s := m.Type.String()
	switch m.Type {
	case tapestry.MsgPing:
		if m.Flag {
			s += " holds"
		}
	case tapestry.MsgJoin:
		s += fmt.Sprintf(" joiner=%s level=%d hops=%d", e.name(m.Origin.ID), m.Level, m.Hops)
	case tapestry.MsgMulticast:
		s += fmt.Sprintf(" joiner=%s level=%d", e.name(m.Origin.ID), m.Level)
	case tapestry.MsgMulticastAck:
		s += " reached=" + e.fmtEntries(m.Entries, false)
	case tapestry.MsgJoinReply:
		s += fmt.Sprintf(" level=%d nodes=%s", m.Level, e.fmtEntries(m.Entries, false))
	case tapestry.MsgGetNeighbors:
		s += fmt.Sprintf(" level=%d", m.Level)
		if m.Flag {
			s += fmt.Sprintf(" digit=%x", m.Digit)
		}
	case tapestry.MsgNeighbors:
		s += fmt.Sprintf(" level=%d nodes=%s", m.Level, e.fmtEntries(m.Entries, false))
	case tapestry.MsgPublish, tapestry.MsgUnpublish:
		s += fmt.Sprintf(" %s server=%s level=%d hops=%d", e.fmtKey(m.Key), e.name(m.Origin.ID), m.Level, m.Hops)
		if m.Flag {
			s += " backup"
		}
		if m.Seq == 0 && m.Type == tapestry.MsgPublish {
			s += " republish"
		}
	case tapestry.MsgPublishAck:
		s += fmt.Sprintf(" %s hops=%d", e.fmtKey(m.Key), m.Hops)
	case tapestry.MsgLocate:
		s += fmt.Sprintf(" %s hops=%d", e.fmtKey(m.Key), m.Hops)
	case tapestry.MsgLocateReply:
		s += fmt.Sprintf(" %s hops=%d", e.fmtKey(m.Key), m.Hops)
		if m.Flag {
			s += " holders=" + e.fmtEntries(m.Entries, true)
		} else {
			s += " none"
		}
	case tapestry.MsgRoute, tapestry.MsgRouteReply:
		s += fmt.Sprintf(" %s hops=%d", e.fmtKey(m.Key), m.Hops)
	case tapestry.MsgLeave:
		s += " replacements=" + e.fmtEntries(m.Entries, false)
		for _, p := range m.Pointers {
			s += fmt.Sprintf(" pointer=%s->%s", e.fmtKey(p.Route), e.name(p.Server.ID))
		}
	case tapestry.MsgBackpointer:
		if m.Flag {
			s += " add"
		} else {
			s += " remove"
		}
	}
	return s
}

// fmtEntries prints entries as names, with their round-trip times if rtt.
func (e *env) fmtEntries(es []tapestry.Entry, rtt bool) string {
	if len(es) == 0 {
		return "()"
	}
	var parts []string
	for _, x := range es {
		s := e.name(x.ID)
		if rtt {
			s += " " + fmtRTT(x.RTT)
		}
		parts = append(parts, s)
	}
	if rtt {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts, " ")
}

func fmtRTT(d time.Duration) string {
	if d >= time.Hour {
		return "rtt=?"
	}
	return "rtt=" + d.Round(time.Millisecond).String()
}

// root names the oracle's root of key.
func (e *env) root(key id.ID) string {
	if r := e.mesh().Root(key); r != nil {
		return e.name(r.Self().ID)
	}
	return "none"
}

// name is "n3:1234" for a member, the short id otherwise.
func (e *env) name(x id.ID) string {
	if y := e.mesh().Member(x); y != nil {
		return fmt.Sprintf("n%d:%s", y.Index, short(x))
	}
	return short(x)
}

// fmtKey prints a salted key as object#salt, any other key short.
func (e *env) fmtKey(k id.ID) string {
	if r, ok := e.salt[k]; ok {
		return fmt.Sprintf("%s#%d", short(r.obj), r.i)
	}
	return short(k)
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

func (e *env) salts() int {
	if e.nc.Salts > 0 {
		return e.nc.Salts
	}
	return 3 // the core's default
}

// object reads positional argument i as an object key and remembers its
// salted keys.
func (e *env) object(c cmd, i int) id.ID {
	obj := e.key(c, i)
	if !slices.Contains(e.objs, obj) {
		e.objs = append(e.objs, obj)
		for j, k := range tapestry.SaltedKeys(obj, e.salts()) {
			e.salt[k] = saltRef{obj: obj, i: j}
		}
	}
	return obj
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
