package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/puddlestore/puddlestore/transport"
)

// A driver snapshot wraps the state machine's snapshot with the member
// addresses learned from the log, which a snapshot would otherwise forget:
// a node restarted after compaction must still reach members added since
// bootstrap.
//
//	version(1) count(uvarint) {id peer client}... smData

const snapDataVersion = 1

type memberAddrs struct {
	peers   map[uint64]transport.Addr
	clients map[uint64]string
}

// ViewSnapshotter is a StateMachine that can take a point-in-time view of
// its state cheaply and encode it later, off the driver's loop, while
// writes go on. A StateMachine without it is snapshotted on the loop.
type ViewSnapshotter interface {
	SnapshotView() func() ([]byte, error)
}

// snapshotView returns the function that encodes a driver snapshot of the
// state as of now: the member addresses and the state machine's view.
func (r *Raft) snapshotView() (func() ([]byte, error), error) {
	var encodeSM func() ([]byte, error)
	if vs, ok := r.cfg.SM.(ViewSnapshotter); ok {
		encodeSM = vs.SnapshotView()
	} else {
		sm, err := r.cfg.SM.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("snapshot state machine: %w", err)
		}
		encodeSM = func() ([]byte, error) { return sm, nil }
	}
	r.mu.Lock()
	ids := make([]uint64, 0, len(r.mu.peers))
	for id := range r.mu.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b := []byte{snapDataVersion}
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, id)
		b = appendString(b, string(r.mu.peers[id]))
		b = appendString(b, r.mu.clients[id])
	}
	r.mu.Unlock()
	return func() ([]byte, error) {
		sm, err := encodeSM()
		if err != nil {
			return nil, fmt.Errorf("snapshot state machine: %w", err)
		}
		return append(b, sm...), nil
	}, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errSnapData = errors.New("node: malformed snapshot")

// restoreSnapshotData restores sm and returns the addresses the snapshot
// carries.
func restoreSnapshotData(sm StateMachine, b []byte, into *memberAddrs) error {
	d := snapDecoder{b: b}
	if v := d.byte(); v != snapDataVersion {
		return fmt.Errorf("%w: version %d", errSnapData, v)
	}
	n := d.count()
	addrs := memberAddrs{peers: map[uint64]transport.Addr{}, clients: map[uint64]string{}}
	for range n {
		id := d.uvarint()
		addrs.peers[id] = transport.Addr(d.bytes())
		if c := string(d.bytes()); c != "" {
			addrs.clients[id] = c
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", errSnapData, d.err)
	}
	if err := sm.Restore(d.b); err != nil {
		return err
	}
	if into != nil {
		*into = addrs
	}
	return nil
}

func (r *Raft) restoreSnapshot(b []byte) error {
	var addrs memberAddrs
	if err := restoreSnapshotData(r.cfg.SM, b, &addrs); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, a := range addrs.peers {
		if _, configured := r.cfg.Peers[id]; !configured {
			r.mu.peers[id] = a // operator-given addresses win
		}
	}
	for id, c := range addrs.clients {
		r.mu.clients[id] = c
	}
	return nil
}
