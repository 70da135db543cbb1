package raft

import (
	"fmt"
	"strings"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// Stable, compact, one-line descriptions of the core's values for the
// scripted tests. Only fields that matter for a type (or are non-zero) are
// printed, always in the same order.

func describeEntry(e pb.Entry) string {
	s := fmt.Sprintf("%d/%d", e.Term, e.Index)
	if e.Type == pb.EntryConfChange {
		var cc pb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return s + fmt.Sprintf(" EntryConfChange <bad: %v>", err)
		}
		return s + " EntryConfChange " + describeConfChange(cc)
	}
	return s + fmt.Sprintf(" EntryNormal %q", e.Data)
}

func describeConfChange(cc pb.ConfChange) string {
	name := map[pb.ConfChangeType]string{
		pb.ConfAddVoter: "add-voter", pb.ConfAddLearner: "add-learner", pb.ConfRemoveNode: "remove",
	}[cc.Type]
	if name == "" {
		name = fmt.Sprintf("type%d", cc.Type)
	}
	return fmt.Sprintf("%s %d", name, cc.NodeID)
}

func describeEntries(ents []pb.Entry) string {
	parts := make([]string, len(ents))
	for i, e := range ents {
		parts[i] = describeEntry(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func describeIDs(ids []uint64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return "(" + strings.Join(parts, ",") + ")"
}

func describeSnapMeta(m pb.SnapshotMetadata) string {
	return fmt.Sprintf("%d/%d voters=%s learners=%s", m.Term, m.Index, describeIDs(m.ConfState.Voters), describeIDs(m.ConfState.Learners))
}

func describeMessage(m pb.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d->%d %s Term:%d", m.From, m.To, m.Type, m.Term)
	switch m.Type {
	case pb.MsgApp, pb.MsgVote, pb.MsgPreVote, pb.MsgAppResp:
		fmt.Fprintf(&b, " Log:%d/%d", m.LogTerm, m.Index)
	default:
		if m.LogTerm != 0 || m.Index != 0 {
			fmt.Fprintf(&b, " Log:%d/%d", m.LogTerm, m.Index)
		}
	}
	if m.Commit != 0 || m.Type == pb.MsgApp || m.Type == pb.MsgHeartbeat {
		fmt.Fprintf(&b, " Commit:%d", m.Commit)
	}
	if m.Reject {
		fmt.Fprintf(&b, " Rejected (Hint: %d)", m.RejectHint)
	} else if m.RejectHint != 0 {
		fmt.Fprintf(&b, " Hint:%d", m.RejectHint)
	}
	if len(m.Context) > 0 {
		fmt.Fprintf(&b, " Context:%q", m.Context)
	}
	if len(m.Entries) > 0 {
		fmt.Fprintf(&b, " Entries:%s", describeEntries(m.Entries))
	}
	if m.Snapshot != nil {
		fmt.Fprintf(&b, " Snapshot:%s Chunk:%q", describeSnapMeta(m.Snapshot.Metadata), m.Snapshot.Data)
	}
	if m.Offset != 0 || m.Total != 0 || m.Type == pb.MsgSnap || m.Type == pb.MsgSnapResp {
		fmt.Fprintf(&b, " Offset:%d", m.Offset)
	}
	if m.Total != 0 || m.Type == pb.MsgSnap {
		fmt.Fprintf(&b, " Total:%d", m.Total)
	}
	if m.Checksum != 0 {
		fmt.Fprintf(&b, " Checksum:%08x", m.Checksum)
	}
	if m.Done {
		b.WriteString(" Done")
	}
	return b.String()
}

func describeReady(rd Ready) string {
	var b strings.Builder
	if rd.SoftState != nil {
		fmt.Fprintf(&b, "State:%s Lead:%d\n", rd.SoftState.State, rd.SoftState.Lead)
	}
	if !rd.HardState.IsEmpty() {
		fmt.Fprintf(&b, "HardState Term:%d Vote:%d Commit:%d\n", rd.HardState.Term, rd.HardState.Vote, rd.HardState.Commit)
	}
	if len(rd.Entries) > 0 {
		b.WriteString("Entries:\n")
		for _, e := range rd.Entries {
			fmt.Fprintf(&b, "  %s\n", describeEntry(e))
		}
	}
	if !rd.Snapshot.IsEmpty() {
		fmt.Fprintf(&b, "Snapshot %s data=%q\n", describeSnapMeta(rd.Snapshot.Metadata), rd.Snapshot.Data)
	}
	if len(rd.CommittedEntries) > 0 {
		b.WriteString("CommittedEntries:\n")
		for _, e := range rd.CommittedEntries {
			fmt.Fprintf(&b, "  %s\n", describeEntry(e))
		}
	}
	if len(rd.ReadStates) > 0 {
		b.WriteString("ReadStates:\n")
		for _, rs := range rd.ReadStates {
			fmt.Fprintf(&b, "  Index:%d Ctx:%q\n", rs.Index, rs.RequestCtx)
		}
	}
	if len(rd.Messages) > 0 {
		b.WriteString("Messages:\n")
		for _, m := range rd.Messages {
			fmt.Fprintf(&b, "  %s\n", describeMessage(m))
		}
	}
	return b.String()
}
