package raftpb

import "encoding/binary"

// Size returns the length of hs's encoding.
func (hs *HardState) Size() int {
	return 1 + uvarintSize(hs.Term) + uvarintSize(hs.Vote) + uvarintSize(hs.Commit)
}

// AppendMarshal appends hs's encoding to dst.
func (hs *HardState) AppendMarshal(dst []byte) []byte {
	dst = append(dst, Version)
	dst = binary.AppendUvarint(dst, hs.Term)
	dst = binary.AppendUvarint(dst, hs.Vote)
	return binary.AppendUvarint(dst, hs.Commit)
}

// Marshal returns hs's encoding.
func (hs *HardState) Marshal() []byte { return hs.AppendMarshal(make([]byte, 0, hs.Size())) }

// Unmarshal decodes b into hs.
func (hs *HardState) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.version("hard state")
	var v HardState
	v.Term = d.uvarint("hard state term")
	v.Vote = d.uvarint("hard state vote")
	v.Commit = d.uvarint("hard state commit")
	if err := d.finish("hard state"); err != nil {
		*hs = HardState{}
		return err
	}
	*hs = v
	return nil
}

func (cs *ConfState) bodySize() int {
	n := uvarintSize(uint64(len(cs.Voters))) + uvarintSize(uint64(len(cs.Learners)))
	for _, id := range cs.Voters {
		n += uvarintSize(id)
	}
	for _, id := range cs.Learners {
		n += uvarintSize(id)
	}
	return n
}

func appendIDs(dst []byte, ids []uint64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = binary.AppendUvarint(dst, id)
	}
	return dst
}

func (cs *ConfState) appendBody(dst []byte) []byte {
	return appendIDs(appendIDs(dst, cs.Voters), cs.Learners)
}

func (cs *ConfState) decodeBody(d *decoder) {
	cs.Voters = d.ids("voters")
	cs.Learners = d.ids("learners")
}

// Size returns the length of cs's encoding.
func (cs *ConfState) Size() int { return 1 + cs.bodySize() }

// AppendMarshal appends cs's encoding to dst.
func (cs *ConfState) AppendMarshal(dst []byte) []byte {
	return cs.appendBody(append(dst, Version))
}

// Marshal returns cs's encoding.
func (cs *ConfState) Marshal() []byte { return cs.AppendMarshal(make([]byte, 0, cs.Size())) }

// Unmarshal decodes b into cs. Empty lists decode as nil.
func (cs *ConfState) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.version("conf state")
	var v ConfState
	v.decodeBody(&d)
	if err := d.finish("conf state"); err != nil {
		*cs = ConfState{}
		return err
	}
	*cs = v
	return nil
}

func (sm *SnapshotMetadata) bodySize() int {
	return uvarintSize(sm.Index) + uvarintSize(sm.Term) + sm.ConfState.bodySize()
}

func (sm *SnapshotMetadata) appendBody(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, sm.Index)
	dst = binary.AppendUvarint(dst, sm.Term)
	return sm.ConfState.appendBody(dst)
}

func (sm *SnapshotMetadata) decodeBody(d *decoder) {
	sm.Index = d.uvarint("snapshot index")
	sm.Term = d.uvarint("snapshot term")
	sm.ConfState.decodeBody(d)
}

// Size returns the length of sm's encoding.
func (sm *SnapshotMetadata) Size() int { return 1 + sm.bodySize() }

// AppendMarshal appends sm's encoding to dst.
func (sm *SnapshotMetadata) AppendMarshal(dst []byte) []byte {
	return sm.appendBody(append(dst, Version))
}

// Marshal returns sm's encoding.
func (sm *SnapshotMetadata) Marshal() []byte {
	return sm.AppendMarshal(make([]byte, 0, sm.Size()))
}

// Unmarshal decodes b into sm.
func (sm *SnapshotMetadata) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.version("snapshot metadata")
	var v SnapshotMetadata
	v.decodeBody(&d)
	if err := d.finish("snapshot metadata"); err != nil {
		*sm = SnapshotMetadata{}
		return err
	}
	*sm = v
	return nil
}

func (s *Snapshot) bodySize() int { return s.Metadata.bodySize() + bytesSize(s.Data) }

func (s *Snapshot) appendBody(dst []byte) []byte {
	return appendBytes(s.Metadata.appendBody(dst), s.Data)
}

func (s *Snapshot) decodeBody(d *decoder) {
	s.Metadata.decodeBody(d)
	s.Data = d.bytes("snapshot data")
}

// Size returns the length of s's encoding.
func (s *Snapshot) Size() int { return 1 + s.bodySize() }

// AppendMarshal appends s's encoding to dst.
func (s *Snapshot) AppendMarshal(dst []byte) []byte {
	return s.appendBody(append(dst, Version))
}

// Marshal returns s's encoding.
func (s *Snapshot) Marshal() []byte { return s.AppendMarshal(make([]byte, 0, s.Size())) }

// Unmarshal decodes b into s. s.Data is a copy: b may be reused.
func (s *Snapshot) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.version("snapshot")
	var v Snapshot
	v.decodeBody(&d)
	if err := d.finish("snapshot"); err != nil {
		*s = Snapshot{}
		return err
	}
	if v.Data != nil {
		v.Data = cloneInput(v.Data)
	}
	*s = v
	return nil
}

// Size returns the length of cc's encoding.
func (cc *ConfChange) Size() int { return 2 + uvarintSize(cc.NodeID) + bytesSize(cc.Context) }

// AppendMarshal appends cc's encoding to dst.
func (cc *ConfChange) AppendMarshal(dst []byte) []byte {
	dst = append(dst, Version, byte(cc.Type))
	dst = binary.AppendUvarint(dst, cc.NodeID)
	return appendBytes(dst, cc.Context)
}

// Marshal returns cc's encoding.
func (cc *ConfChange) Marshal() []byte { return cc.AppendMarshal(make([]byte, 0, cc.Size())) }

// Unmarshal decodes b into cc. cc.Context is a copy: b may be reused.
func (cc *ConfChange) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.version("conf change")
	var v ConfChange
	v.Type = ConfChangeType(d.byte("conf change type"))
	if d.err == nil && v.Type > ConfRemoveNode {
		d.fail("conf change type %d unknown", v.Type)
	}
	v.NodeID = d.uvarint("conf change node")
	v.Context = d.bytes("conf change context")
	if err := d.finish("conf change"); err != nil {
		*cc = ConfChange{}
		return err
	}
	if v.Context != nil {
		v.Context = cloneInput(v.Context)
	}
	*cc = v
	return nil
}
