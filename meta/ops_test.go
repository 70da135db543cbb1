package meta

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// base builds the tree every operation test starts from:
//
//	/d/         /d/f (v1 "a", v2 "b")   /d/e/ (empty)   /d/sub/x
//	/f (v1 "f")                          lease on /locked by "alice" (token 1)
func base(t *testing.T) *harness {
	h := newHarness(t, Config{})
	h.must(10, Mkdir("/d/e", true, 0o755, "root"))
	h.must(11, Commit("/d/f", ExpectAbsent(), refOf("a"), 1, 0o644, "bob", 0))
	h.must(12, Commit("/d/f", ExpectAny(), refOf("b"), 2, 0o600, "carol", 0))
	h.must(13, Mkdir("/d/sub", false, 0o700, "root"))
	h.must(14, Commit("/d/sub/x", ExpectAny(), refOf("x"), 3, 0o644, "bob", 0))
	h.must(15, Commit("/f", ExpectAbsent(), refOf("f"), 4, 0o644, "bob", 0))
	h.must(16, Lock("/locked", "alice", time.Hour))
	return h
}

func v2() Version { return Version{Number: 2, Ref: refOf("b")} }

func TestOperationErrors(t *testing.T) {
	tok := uint64(1) // alice's token on /locked
	tests := []struct {
		name string
		pre  []Command // applied first, each must succeed
		cmd  Command
		want Kind // 0: success
	}{
		// mkdir
		{"mkdir new", nil, Mkdir("/n", false, 0o755, "u"), 0},
		{"mkdir -p deep", nil, Mkdir("/n/m/o", true, 0o755, "u"), 0},
		{"mkdir -p existing dir", nil, Mkdir("/d/e", true, 0o755, "u"), 0},
		{"mkdir -p root", nil, Mkdir("/", true, 0o755, "u"), 0},
		{"mkdir existing dir", nil, Mkdir("/d/e", false, 0o755, "u"), KindExist},
		{"mkdir root", nil, Mkdir("/", false, 0o755, "u"), KindExist},
		{"mkdir existing file", nil, Mkdir("/f", false, 0o755, "u"), KindExist},
		{"mkdir -p existing file", nil, Mkdir("/f", true, 0o755, "u"), KindExist},
		{"mkdir missing parent", nil, Mkdir("/n/m", false, 0o755, "u"), KindNotExist},
		{"mkdir under file", nil, Mkdir("/f/m", false, 0o755, "u"), KindNotDir},
		{"mkdir -p under file", nil, Mkdir("/f/m/n", true, 0o755, "u"), KindNotDir},
		{"mkdir bad path", nil, Mkdir("n", false, 0o755, "u"), KindInvalid},
		{"mkdir dot", nil, Mkdir("/d/./n", false, 0o755, "u"), KindInvalid},
		{"mkdir bad mode", nil, Mkdir("/n", false, 0o1755, "u"), KindInvalid},
		{"mkdir long owner", nil, Mkdir("/n", false, 0o755, strings.Repeat("u", 256)), KindInvalid},
		// remove
		{"rm file", nil, Remove("/f", false), 0},
		{"rm empty dir", nil, Remove("/d/e", false), 0},
		{"rm -r dir", nil, Remove("/d", true), 0},
		{"rm non-empty dir", nil, Remove("/d", false), KindNotEmpty},
		{"rm missing", nil, Remove("/nope", false), KindNotExist},
		{"rm under missing", nil, Remove("/nope/x", true), KindNotExist},
		{"rm under file", nil, Remove("/f/x", false), KindNotDir},
		{"rm root", nil, Remove("/", true), KindInvalid},
		{"rm bad path", nil, Remove("/d/../f", false), KindInvalid},
		{"rm locked", []Command{Commit("/locked", ExpectAny(), refOf("l"), 1, 0o644, "alice", tok)}, Remove("/locked", false), KindLocked},
		{"rm locked with token", []Command{Commit("/locked", ExpectAny(), refOf("l"), 1, 0o644, "alice", tok)}, withToken(Remove("/locked", false), tok), 0},
		{"rm dir above lease", []Command{Lock("/d/sub/x", "eve", time.Hour)}, Remove("/d", true), KindLocked},
		{"rm with stale token", nil, withToken(Remove("/f", false), 99), KindLocked},
		{"rm expired lease's path", []Command{Lock("/f", "eve", time.Nanosecond)}, Remove("/f", false), 0},
		// rename
		{"mv file", nil, Rename("/f", "/d/g"), 0},
		{"mv dir", nil, Rename("/d", "/e"), 0},
		{"mv dir deeper", nil, Rename("/d/sub", "/d/e/sub"), 0},
		{"mv onto file", nil, Rename("/f", "/d/f"), KindExist},
		{"mv onto dir", nil, Rename("/f", "/d/e"), KindExist},
		{"mv missing", nil, Rename("/nope", "/g"), KindNotExist},
		{"mv to missing dir", nil, Rename("/f", "/nope/g"), KindNotExist},
		{"mv to under file", nil, Rename("/d/f", "/f/g"), KindNotDir},
		{"mv into itself", nil, Rename("/d", "/d/sub/d"), KindInvalid},
		{"mv onto itself", nil, Rename("/d", "/d"), KindInvalid},
		{"mv root", nil, Rename("/", "/r"), KindInvalid},
		{"mv onto root", nil, Rename("/f", "/"), KindInvalid},
		{"mv bad target", nil, Rename("/f", "g"), KindInvalid},
		{"mv onto lease", nil, Rename("/f", "/locked"), KindLocked},
		{"mv onto lease with token", nil, withToken(Rename("/f", "/locked"), tok), 0},
		// commit
		{"commit create", nil, Commit("/d/g", ExpectAbsent(), refOf("g"), 1, 0o644, "u", 0), 0},
		{"commit any", nil, Commit("/d/f", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), 0},
		{"commit cas", nil, Commit("/d/f", ExpectVersion(v2()), refOf("g"), 1, 0o644, "u", 0), 0},
		{"commit cas old", nil, Commit("/d/f", Expect{Match: MatchVersion, Number: 1, Ref: refOf("a")}, refOf("g"), 1, 0o644, "u", 0), KindConflict},
		{"commit cas wrong ref", nil, Commit("/d/f", Expect{Match: MatchVersion, Number: 2, Ref: refOf("a")}, refOf("g"), 1, 0o644, "u", 0), KindConflict},
		{"commit cas absent", nil, Commit("/d/g", ExpectVersion(v2()), refOf("g"), 1, 0o644, "u", 0), KindConflict},
		{"commit create exists", nil, Commit("/d/f", ExpectAbsent(), refOf("g"), 1, 0o644, "u", 0), KindConflict},
		{"commit onto dir", nil, Commit("/d/e", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindIsDir},
		{"commit onto root", nil, Commit("/", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindIsDir},
		{"commit missing dir", nil, Commit("/nope/g", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindNotExist},
		{"commit under file", nil, Commit("/f/g", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindNotDir},
		{"commit zero ref", nil, Commit("/d/g", ExpectAny(), Ref{}, 1, 0o644, "u", 0), KindInvalid},
		{"commit bad mode", nil, Commit("/d/g", ExpectAny(), refOf("g"), 1, 0o10000, "u", 0), KindInvalid},
		{"commit bad path", nil, Commit("/d/", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindIsDir},
		{"commit empty path", nil, Commit("", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindInvalid},
		{"commit locked", nil, Commit("/locked", ExpectAny(), refOf("g"), 1, 0o644, "u", 0), KindLocked},
		{"commit locked wrong token", nil, Commit("/locked", ExpectAny(), refOf("g"), 1, 0o644, "u", tok+1), KindLocked},
		{"commit locked token", nil, Commit("/locked", ExpectAny(), refOf("g"), 1, 0o644, "u", tok), 0},
		{"commit stale token", nil, Commit("/f", ExpectAny(), refOf("g"), 1, 0o644, "u", tok), KindLocked},
		{"commit lock before conflict", nil, Commit("/locked", ExpectVersion(v2()), refOf("g"), 1, 0o644, "u", 0), KindLocked},
		// restore
		{"restore", nil, RestoreVersion("/d/f", 1, "u", 0), 0},
		{"restore current", nil, RestoreVersion("/d/f", 2, "u", 0), 0},
		{"restore missing version", nil, RestoreVersion("/d/f", 3, "u", 0), KindNotExist},
		{"restore version 0", nil, RestoreVersion("/d/f", 0, "u", 0), KindInvalid},
		{"restore missing file", nil, RestoreVersion("/d/g", 1, "u", 0), KindNotExist},
		{"restore dir", nil, RestoreVersion("/d/e", 1, "u", 0), KindIsDir},
		{"restore cas", nil, withExpect(RestoreVersion("/d/f", 1, "u", 0), ExpectVersion(v2())), 0},
		{"restore cas stale", nil, withExpect(RestoreVersion("/d/f", 1, "u", 0), ExpectAbsent()), KindConflict},
		{"restore locked", []Command{Lock("/d/f", "eve", time.Hour)}, RestoreVersion("/d/f", 1, "u", 0), KindLocked},
		// leases
		{"lock", nil, Lock("/f", "u", time.Second), 0},
		{"lock missing path", nil, Lock("/nope/x", "u", time.Second), 0},
		{"lock renew", nil, Lock("/locked", "alice", time.Second), 0},
		{"lock held", nil, Lock("/locked", "u", time.Second), KindLocked},
		{"lock zero ttl", nil, Lock("/f", "u", 0), KindInvalid},
		{"lock huge ttl", nil, Lock("/f", "u", time.Duration(Latest)), KindInvalid},
		{"lock no owner", nil, Lock("/f", "", time.Second), KindInvalid},
		{"lock bad path", nil, Lock("/f/", "u", time.Second), 0},
		{"lock bad path 2", nil, Lock("f", "u", time.Second), KindInvalid},
		{"unlock", nil, Unlock("/locked", "alice", tok), 0},
		{"unlock wrong token", nil, Unlock("/locked", "alice", tok+1), KindLocked},
		{"unlock wrong owner", nil, Unlock("/locked", "u", tok), KindLocked},
		{"unlock none", nil, Unlock("/f", "u", tok), KindNotExist},
		// membership
		{"setnode", nil, SetNode(1, "10.0.0.1:7000", RoleMeta|RoleBlocks), 0},
		{"setnode id 0", nil, SetNode(0, "a:1", RoleMeta), KindInvalid},
		{"setnode no addr", nil, SetNode(1, "", RoleMeta), KindInvalid},
		{"setnode unknown role", nil, SetNode(1, "a:1", 1<<7), KindInvalid},
		{"rmnode missing", nil, RemoveNode(9), KindNotExist},
		{"rmnode 0", nil, RemoveNode(0), KindInvalid},
		{"rmnode", []Command{SetNode(9, "a:1", 0)}, RemoveNode(9), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := base(t)
			for i, c := range tt.pre {
				h.must(int64(100+i), c)
			}
			before := snapshot(t, h.s)
			tt.cmd.Time = 1000
			_, err := h.apply(tt.cmd)
			if got := KindOf(err); got != tt.want {
				t.Fatalf("got %v (%v), want kind %v", got, err, tt.want)
			}
			if err == nil {
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Op != tt.cmd.Op.String() || !errors.Is(err, tt.want.Err()) {
				t.Errorf("error %#v: want an *Error of op %s", err, tt.cmd.Op)
			}
			// A failed command changes nothing but the clock and the
			// applied index: compare with a state that only ticked.
			ticked := newHarness(t, Config{})
			if err := ticked.s.Restore(before); err != nil {
				t.Fatal(err)
			}
			ticked.apply(Command{Op: OpRemoveNode, NodeID: 1 << 60, Time: 1000})
			ticked.s.mu.applied = h.s.mu.applied
			if string(snapshot(t, ticked.s)) != string(snapshot(t, h.s)) {
				t.Errorf("failed command changed the state")
			}
		})
	}
}

func withToken(c Command, tok uint64) Command { c.Token = tok; return c }

func withExpect(c Command, e Expect) Command { c.Expect = e; return c }

// TestConflictCarriesCurrent: a lost race shows the winner's version.
func TestConflictCarriesCurrent(t *testing.T) {
	h := base(t)
	v1 := Version{Number: 1, Ref: refOf("a")}
	_, err := h.apply(Commit("/d/f", ExpectVersion(v1), refOf("mine"), 5, 0o644, "u", 0))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConflict || e.Current == nil {
		t.Fatalf("got %v, want a Conflict with the current version", err)
	}
	if c := *e.Current; c.Number != 2 || c.Ref != refOf("b") || c.Size != 2 || c.Writer != "carol" || c.Time != 12 || c.Mode != 0o600 {
		t.Errorf("current = %+v", c)
	}
	_, err = h.apply(Commit("/d/nope", ExpectVersion(v1), refOf("mine"), 5, 0o644, "u", 0))
	if !errors.As(err, &e) || e.Kind != KindConflict || e.Current != nil {
		t.Fatalf("got %v, want a Conflict without a current version", err)
	}
}
