package fsys

import (
	"context"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/meta"
)

// MetaState serves Meta from a local meta.State, applying each command at
// once with the local clock: one process, no Raft. For tests and tools.
func MetaState(st *meta.State) Meta { return &localMeta{st: st} }

type localMeta struct {
	mu    sync.Mutex // serializes Apply, as a Raft driver does
	st    *meta.State
	index uint64 // guarded by mu
}

func (m *localMeta) Apply(_ context.Context, c meta.Command) (meta.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.Time = time.Now().UnixNano()
	m.index++
	res, err := m.st.Apply(m.index, c.Encode())
	if err != nil {
		return meta.Result{}, err
	}
	return res.(meta.Result), nil
}

func latest(at int64) int64 {
	if at == 0 {
		return meta.Latest
	}
	return at
}

func (m *localMeta) Stat(_ context.Context, path string, at int64) (meta.Info, error) {
	return m.st.Stat(path, latest(at))
}

func (m *localMeta) ReadDir(_ context.Context, path string, at int64) ([]meta.Info, error) {
	return m.st.ReadDir(path, latest(at))
}

func (m *localMeta) Version(_ context.Context, path string, number uint64, at int64) (meta.Version, error) {
	return m.st.VersionOf(path, number, latest(at))
}

func (m *localMeta) History(_ context.Context, path string, at int64) ([]meta.Version, error) {
	return m.st.History(path, latest(at))
}
