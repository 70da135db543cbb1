package raft

import (
	"errors"
	"fmt"
	"testing"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// testLog builds a log holding terms[i] at index first+i, after a snapshot
// at first-1 with term prevTerm; everything is stable.
func testLog(t *testing.T, first, prevTerm uint64, terms ...uint64) *raftLog {
	t.Helper()
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: first - 1, Term: prevTerm}}
	l, err := newLog(snap, ents(first, terms...), first-1, first-1)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ents(first uint64, terms ...uint64) []pb.Entry {
	var es []pb.Entry
	for i, term := range terms {
		es = append(es, pb.Entry{Term: term, Index: first + uint64(i), Data: fmt.Appendf(nil, "%d", first+uint64(i))})
	}
	return es
}

func logTerms(l *raftLog) []uint64 {
	var ts []uint64
	for _, e := range l.ents {
		ts = append(ts, e.Term)
	}
	return ts
}

func TestFindConflictByTerm(t *testing.T) {
	full := func(t *testing.T) *raftLog { return testLog(t, 1, 0, 1, 1, 2, 2, 3, 3, 3) }
	// Compacted: entries 1..3 are in a snapshot at 3 (term 2).
	compacted := func(t *testing.T) *raftLog { return testLog(t, 4, 2, 2, 3, 3, 3) }
	tests := []struct {
		name              string
		log               func(*testing.T) *raftLog
		i, term           uint64
		wantIdx, wantTerm uint64
	}{
		{"last entry matches", full, 7, 3, 7, 3},
		{"term above all", full, 7, 9, 7, 3},
		{"skip a whole term", full, 7, 2, 4, 2},
		{"skip two terms", full, 7, 1, 2, 1},
		{"term below all", full, 7, 0, 0, 0},
		{"index beyond the log is capped", full, 100, 2, 4, 2},
		{"start in the middle", full, 5, 2, 4, 2},
		{"index 0", full, 0, 5, 0, 0},
		{"compacted: stops at the snapshot", compacted, 7, 2, 4, 2},
		{"compacted: unknown below the snapshot", compacted, 7, 1, 2, 0}, // term(3)=2>1, term(2) unknown
		{"compacted: below the snapshot", compacted, 2, 1, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, term := tt.log(t).findConflictByTerm(tt.i, tt.term)
			if idx != tt.wantIdx || term != tt.wantTerm {
				t.Fatalf("findConflictByTerm(%d, %d) = (%d, %d), want (%d, %d)", tt.i, tt.term, idx, term, tt.wantIdx, tt.wantTerm)
			}
		})
	}
}

func TestMaybeAppend(t *testing.T) {
	// Log 1..5 with terms 1 1 2 2 2, committed 2.
	tests := []struct {
		name           string
		prevIdx, prevT uint64
		commit         uint64
		ents           []pb.Entry
		wantLast       uint64
		wantOK         bool
		wantErr        error
		wantTerms      []uint64
		wantCommit     uint64
	}{
		{"mismatched term", 5, 3, 5, ents(6, 3), 0, false, nil, []uint64{1, 1, 2, 2, 2}, 2},
		{"beyond the log", 7, 2, 5, nil, 0, false, nil, []uint64{1, 1, 2, 2, 2}, 2},
		{"heartbeat-like empty append", 5, 2, 4, nil, 5, true, nil, []uint64{1, 1, 2, 2, 2}, 4},
		{"append after the end", 5, 2, 6, ents(6, 2, 3), 7, true, nil, []uint64{1, 1, 2, 2, 2, 2, 3}, 6},
		{"commit capped by last new entry", 3, 2, 99, ents(4, 2), 4, true, nil, []uint64{1, 1, 2, 2, 2}, 4},
		{"present entries do not truncate the rest", 2, 1, 3, ents(3, 2, 2), 4, true, nil, []uint64{1, 1, 2, 2, 2}, 3},
		{"conflict truncates the suffix", 3, 2, 4, ents(4, 3), 4, true, nil, []uint64{1, 1, 2, 3}, 4},
		{"conflict after present entries", 2, 1, 2, ents(3, 2, 4, 4), 5, true, nil, []uint64{1, 1, 2, 4, 4}, 2},
		{"commit never goes back", 1, 1, 0, nil, 1, true, nil, []uint64{1, 1, 2, 2, 2}, 2},
		{"never truncates committed entries", 1, 1, 5, ents(2, 3, 3), 0, false, ErrMalformed, []uint64{1, 1, 2, 2, 2}, 2},
		{"entries out of sequence", 5, 2, 5, ents(7, 2), 0, false, ErrMalformed, []uint64{1, 1, 2, 2, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLog(t, 1, 0, 1, 1, 2, 2, 2)
			l.commitTo(2)
			last, ok, err := l.maybeAppend(tt.prevIdx, tt.prevT, tt.commit, tt.ents)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if last != tt.wantLast || ok != tt.wantOK {
				t.Fatalf("maybeAppend = (%d, %v), want (%d, %v)", last, ok, tt.wantLast, tt.wantOK)
			}
			if got := logTerms(l); fmt.Sprint(got) != fmt.Sprint(tt.wantTerms) {
				t.Fatalf("log terms %v, want %v", got, tt.wantTerms)
			}
			if l.committed != tt.wantCommit {
				t.Fatalf("committed %d, want %d", l.committed, tt.wantCommit)
			}
		})
	}
}

func TestAppendTruncation(t *testing.T) {
	l := testLog(t, 1, 0, 1, 1, 1, 1)
	l.commitTo(2)
	// A truncation moves the durable mark back: the new suffix is unstable.
	if err := l.append(ents(4, 2, 2)...); err != nil {
		t.Fatal(err)
	}
	if l.stabled != 3 || fmt.Sprint(logTerms(l)) != "[1 1 1 2 2]" {
		t.Fatalf("stabled=%d terms=%v", l.stabled, logTerms(l))
	}
	if u := l.unstable(); len(u) != 2 || u[0].Index != 4 {
		t.Fatalf("unstable %v", u)
	}
	// Truncating at or below commit is refused and changes nothing.
	for _, at := range []uint64{1, 2} {
		if err := l.append(ents(at, 9)...); !errors.Is(err, ErrMalformed) {
			t.Fatalf("append at %d: err = %v", at, err)
		}
	}
	// A gap is refused.
	if err := l.append(ents(8, 2)...); !errors.Is(err, ErrMalformed) {
		t.Fatalf("append with a gap: err = %v", err)
	}
	if fmt.Sprint(logTerms(l)) != "[1 1 1 2 2]" {
		t.Fatalf("refused appends changed the log: %v", logTerms(l))
	}
	// The truncation must not scribble over entries handed out earlier.
	l2 := testLog(t, 1, 0, 1, 1, 1)
	old := l2.slice(1, 4, 0)
	if err := l2.append(ents(2, 5)...); err != nil {
		t.Fatal(err)
	}
	if old[1].Term != 1 {
		t.Fatal("append overwrote a slice handed out before")
	}
}

func TestCompact(t *testing.T) {
	tests := []struct {
		name      string
		applied   uint64
		at        uint64
		wantFirst uint64
		wantPrevT uint64
	}{
		{"compact a prefix", 4, 3, 4, 2},
		{"compact up to applied", 4, 4, 5, 2},
		{"beyond applied is ignored", 4, 5, 1, 0},
		{"below first is ignored", 4, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLog(t, 1, 0, 1, 1, 2, 2, 3)
			l.commitTo(5)
			l.applied = tt.applied
			l.compact(tt.at)
			if l.firstIndex() != tt.wantFirst || l.prevTerm != tt.wantPrevT || l.lastIndex() != 5 {
				t.Fatalf("log %d..%d prevTerm %d, want first %d prevTerm %d", l.firstIndex(), l.lastIndex(), l.prevTerm, tt.wantFirst, tt.wantPrevT)
			}
			if tt.wantFirst > 1 {
				if _, ok := l.term(tt.wantFirst - 2); ok {
					t.Fatal("compacted entry still has a term")
				}
				if got, ok := l.term(tt.wantFirst - 1); !ok || got != tt.wantPrevT {
					t.Fatalf("term(%d) = %d, %v", tt.wantFirst-1, got, ok)
				}
			}
			if got, _ := l.term(5); got != 3 {
				t.Fatalf("term(5) = %d after compaction", got)
			}
		})
	}
}

func TestLogSliceAndApply(t *testing.T) {
	l := testLog(t, 1, 0, 1, 1, 1, 1)
	one := entrySize(l.ents[0])
	if got := l.slice(1, 5, one); len(got) != 1 {
		t.Fatalf("slice limited to one entry's size: %d entries", len(got))
	}
	if got := l.slice(1, 5, 1); len(got) != 1 {
		t.Fatalf("slice always returns at least one entry: %d", len(got))
	}
	if got := l.slice(1, 5, 2*one); len(got) != 2 {
		t.Fatalf("slice of two entries' size: %d", len(got))
	}
	if got := l.slice(3, 99, 0); len(got) != 2 {
		t.Fatalf("slice past the end is capped: %d", len(got))
	}
	// Only durable entries are handed out for applying.
	l.commitTo(4)
	l.stabled = 2
	if got := l.nextApply(0); len(got) != 2 || got[1].Index != 2 {
		t.Fatalf("nextApply = %v, want entries 1..2", got)
	}
}

func TestIsUpToDate(t *testing.T) {
	l := testLog(t, 1, 0, 1, 2, 2) // last 3/2
	tests := []struct {
		idx, term uint64
		want      bool
	}{
		{3, 2, true}, {4, 2, true}, {2, 2, false}, {1, 3, true}, {9, 1, false},
	}
	for _, tt := range tests {
		if got := l.isUpToDate(tt.idx, tt.term); got != tt.want {
			t.Errorf("isUpToDate(%d, %d) = %v, want %v", tt.idx, tt.term, got, tt.want)
		}
	}
}

func TestNewLogErrors(t *testing.T) {
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 5, Term: 2}}
	tests := []struct {
		name            string
		ents            []pb.Entry
		commit, applied uint64
	}{
		{"starts after the snapshot", ents(7, 2), 5, 5},
		{"gap", append(ents(6, 2), ents(8, 2)...), 5, 5},
		{"commit beyond the log", ents(6, 2), 7, 5},
		{"applied beyond commit", ents(6, 2, 2), 6, 7},
	}
	for _, tt := range tests {
		if _, err := newLog(snap, tt.ents, tt.commit, tt.applied); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	// Entries the snapshot covers are dropped; commit and applied are raised
	// to the snapshot.
	l, err := newLog(snap, ents(3, 1, 2, 2, 2), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.firstIndex() != 6 || l.lastIndex() != 6 || l.committed != 5 || l.applied != 5 {
		t.Fatalf("log %d..%d committed %d applied %d", l.firstIndex(), l.lastIndex(), l.committed, l.applied)
	}
}
