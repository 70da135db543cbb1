package transport

import "sync"

// Mux dispatches incoming messages to one function per Service. Its Deliver
// method is a Handler. Messages for a service with no function are counted
// and dropped. The zero Mux is not usable; call NewMux.
type Mux struct {
	mu struct {
		sync.RWMutex
		handlers  map[Service]func(from Addr, payload []byte) // guarded by mu
		unhandled uint64                                      // guarded by mu
	}
}

// NewMux returns an empty Mux.
func NewMux() *Mux {
	m := &Mux{}
	m.mu.handlers = make(map[Service]func(Addr, []byte))
	return m
}

// Handle sets the function for svc, replacing any earlier one; nil removes it.
func (m *Mux) Handle(svc Service, h func(from Addr, payload []byte)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h == nil {
		delete(m.mu.handlers, svc)
		return
	}
	m.mu.handlers[svc] = h
}

// Deliver calls the function registered for svc. It is a Handler.
func (m *Mux) Deliver(from Addr, svc Service, payload []byte) {
	m.mu.RLock()
	h := m.mu.handlers[svc]
	m.mu.RUnlock()
	if h == nil {
		m.mu.Lock()
		m.mu.unhandled++
		m.mu.Unlock()
		return
	}
	h(from, payload)
}

// Unhandled returns how many messages arrived for a service with no function.
func (m *Mux) Unhandled() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.mu.unhandled
}

var _ Handler = (*Mux)(nil).Deliver
