package blocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

// Config configures a Service. Durations are wall-clock time.
type Config struct {
	// Store holds this node's replicas durably. Required; not closed by
	// the Service.
	Store blockstore.Store
	// Overlay places and locates blocks. Required; not closed by the
	// Service.
	Overlay overlay.Overlay
	// Transport and Mux: the Service installs its handler for
	// transport.ServiceBlock on Mux. Required.
	Transport transport.Transport
	Mux       *transport.Mux

	// Replicas is R, the number of durable copies of a block (default 3).
	Replicas int
	// WriteQuorum is W, the acks Put waits for (default R, at most R).
	WriteQuorum int
	// FillRounds bounds the extra Responsible lookups made when the
	// overlay names fewer than R distinct nodes for a key (default 15:
	// every other first digit; see fillKey).
	FillRounds int
	// Peers, if set, lists other known nodes; when the fill rounds still
	// leave fewer than R holders, the rest are taken from it, nearest to
	// the key (XOR of ids) first. Default: the overlay's Neighbours.
	Peers func() []overlay.Peer
	// CacheBytes is the budget of the cache of remote blocks read here
	// (default 64 MiB; negative: no cache).
	CacheBytes int64
	// HedgeDelay is how long Get waits for a holder before asking the
	// next one as well (default 50ms).
	HedgeDelay time.Duration
	// AttemptTimeout bounds one request to one peer (default 5s).
	AttemptTimeout time.Duration
	// RetryFor is how long Get keeps trying when no holder could be
	// reached, and Put when its holders could not be found (default 15s;
	// negative: no retry). Right after nodes die, overlay routes through
	// them are lost until the failure is detected and routed around;
	// reads and writes wait that out rather than failing.
	RetryFor time.Duration
	// RepairInterval is the period of the repair pass run by the
	// Service's goroutine (default 1 minute; negative: none, call Repair).
	RepairInterval time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Service is one node's block layer: it places replicas of the blocks
// put through it, reads blocks from wherever they are, caches what it
// reads, and repairs replication. Its methods are safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	self   overlay.Peer
	srv    *Server
	cli    *Client
	cache  *cache // nil: no cache
	pubq   chan pubOp
	base   context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	repairMu sync.Mutex // one repair pass at a time

	mu struct {
		sync.Mutex
		published map[id.ID]bool // keys this node has announced, guarded by mu
		under     int            // under-replicated blocks seen by the last pass, guarded by mu
		closed    bool           // set by Close; wg.Add only while false, guarded by mu
	}
	underPuts      atomic.Int64
	repairs        atomic.Int64
	verifyFailures atomic.Int64
	passes         atomic.Int64
}

// pubOp is a publish (or unpublish) for the publishing goroutines.
type pubOp struct {
	key       id.ID
	unpublish bool
}

// New validates cfg, fills defaults, installs the block handler on
// cfg.Mux and starts the Service's goroutines.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Overlay == nil || cfg.Transport == nil || cfg.Mux == nil {
		return nil, fmt.Errorf("%w: Config needs Store, Overlay, Transport and Mux", ErrInvalid)
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
	}
	if cfg.WriteQuorum <= 0 {
		cfg.WriteQuorum = cfg.Replicas
	}
	if cfg.WriteQuorum > cfg.Replicas {
		return nil, fmt.Errorf("%w: WriteQuorum %d > Replicas %d", ErrInvalid, cfg.WriteQuorum, cfg.Replicas)
	}
	if cfg.FillRounds <= 0 {
		cfg.FillRounds = id.Base - 1
	}
	if cfg.Peers == nil {
		ov := cfg.Overlay
		cfg.Peers = func() []overlay.Peer {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ps, _ := ov.Neighbours(ctx) // none on error: placement makes do
			return ps
		}
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 64 << 20
	}
	if cfg.HedgeDelay <= 0 {
		cfg.HedgeDelay = 50 * time.Millisecond
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = 15 * time.Second
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 5 * time.Second
	}
	if cfg.RepairInterval == 0 {
		cfg.RepairInterval = time.Minute
	}
	s := &Service{cfg: cfg, log: cfg.Logger, self: cfg.Overlay.Self(), pubq: make(chan pubOp, 4096)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mu.published = map[id.ID]bool{}
	s.base, s.cancel = context.WithCancel(context.Background())
	scfg := ServerConfig{Store: cfg.Store, Transport: cfg.Transport, Logger: cfg.Logger, OnStored: s.stored}
	if cfg.CacheBytes > 0 {
		s.cache = newCache(cfg.CacheBytes)
		scfg.Cache = s.cache
	}
	var err error
	if s.srv, err = NewServer(scfg); err != nil {
		return nil, err
	}
	if s.cli, err = NewClient(ClientConfig{Transport: cfg.Transport, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	Handle(cfg.Mux, s.srv, s.cli)
	for range 2 {
		s.wg.Go(s.publisher)
	}
	if cfg.RepairInterval > 0 {
		s.wg.Go(s.repairLoop)
	}
	services.add(s)
	return s, nil
}

// Client returns the Service's protocol client (for tools and tests).
func (s *Service) Client() *Client { return s.cli }

// Close stops the Service: its handler, goroutines, server and client. It
// closes neither the Store nor the Overlay.
func (s *Service) Close() error {
	s.once.Do(func() {
		services.remove(s)
		s.cfg.Mux.Handle(transport.ServiceBlock, nil)
		s.mu.Lock()
		s.mu.closed = true
		s.mu.Unlock()
		s.cancel()
		s.cli.Close()
		s.srv.Close()
		s.wg.Wait()
	})
	return nil
}

// spawn runs f on a goroutine that Close waits for, unless closed.
func (s *Service) spawn(f func()) bool { return goUnlessClosed(&s.mu.Mutex, &s.mu.closed, &s.wg, f) }

// goUnlessClosed starts f on a goroutine counted by wg, unless *closed;
// mu guards closed, so a Close that sets it and then waits on wg waits for
// every goroutine started.
func goUnlessClosed(mu *sync.Mutex, closed *bool, wg *sync.WaitGroup, f func()) bool {
	mu.Lock()
	defer mu.Unlock()
	if *closed {
		return false
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
	return true
}

// keyOf is a block's key in the overlay: its ref's first 160 bits.
func keyOf(ref blockstore.Ref) id.ID {
	var k id.ID
	copy(k[:], ref[:id.Size])
	return k
}

// stored is called once a block is durable here (Put or a peer's Store).
func (s *Service) stored(ref blockstore.Ref) { s.enqueue(pubOp{key: keyOf(ref)}) }

// enqueue hands an announcement to the publishers without waiting. When
// the queue is full the publish is dropped; the next repair pass
// publishes every held block not yet announced. Unpublishes are not
// retried: the overlay's pointers expire unless republished.
func (s *Service) enqueue(op pubOp) {
	select {
	case s.pubq <- op:
	default:
		s.log.Debug("publish queue full", "key", op.key.Short(8))
	}
}

func (s *Service) publisher() {
	for {
		select {
		case <-s.base.Done():
			return
		case op := <-s.pubq:
			ctx, cancel := context.WithTimeout(s.base, s.cfg.AttemptTimeout)
			if op.unpublish {
				s.mu.Lock()
				delete(s.mu.published, op.key)
				s.mu.Unlock()
				if err := s.cfg.Overlay.Unpublish(ctx, op.key); err != nil {
					s.log.Debug("unpublish failed", "key", op.key.Short(8), "err", err)
				}
			} else {
				// The overlay keeps republishing an announcement even
				// when Publish returns an error, so it counts as made
				// unless the overlay is closed.
				err := s.cfg.Overlay.Publish(ctx, op.key)
				if !errors.Is(err, overlay.ErrClosed) {
					s.mu.Lock()
					s.mu.published[op.key] = true
					s.mu.Unlock()
				}
			}
			cancel()
		}
	}
}

// Put stores data on the nodes that place its ref and returns once W of
// them hold it durably (the others continue in the background). When the
// overlay names fewer than R nodes (a small cluster), Put stores on those
// it names, waits for min(W, their number), and counts the block in
// Status().UnderReplicatedPuts; repair adds copies once nodes join.
func (s *Service) Put(ctx context.Context, data []byte) (blockstore.Ref, error) {
	ref := blockstore.RefOf(data)
	if len(data) > blockstore.MaxBlockSize {
		return ref, fmt.Errorf("%w: put: %d bytes exceeds %d", ErrInvalid, len(data), blockstore.MaxBlockSize)
	}
	var holders []overlay.Peer
	err := s.retrying(ctx, ref, func() (err error) {
		if holders, err = s.placement(ctx, ref); err != nil {
			err = fmt.Errorf("%w: put %s: placement: %w", ErrUnavailable, ref.String()[:12], err)
		}
		return err
	})
	if err != nil {
		return ref, err
	}
	if len(holders) < s.cfg.Replicas {
		s.underPuts.Add(1)
		s.log.Warn("block under-replicated: too few nodes", "ref", ref.String()[:12], "holders", len(holders))
	}
	need := min(s.cfg.WriteQuorum, len(holders))
	results := make(chan error, len(holders))
	for _, h := range holders {
		ok := s.spawn(func() {
			// Stores run past Put's return, bounded by AttemptTimeout and
			// Close, so that all R copies are made when W < R.
			actx, cancel := context.WithTimeout(s.base, s.cfg.AttemptTimeout)
			defer cancel()
			results <- s.storeOn(actx, h, ref, data)
		})
		if !ok {
			results <- ErrClosed
		}
	}
	var errs []error
	acks := 0
	for range holders {
		select {
		case err := <-results:
			if err != nil {
				errs = append(errs, err)
			} else {
				acks++
			}
		case <-ctx.Done():
			return ref, fmt.Errorf("%w: put %s: %d of %d acks: %w", ErrUnavailable, ref.String()[:12], acks, need, ctx.Err())
		}
		if acks >= need {
			return ref, nil
		}
		if len(errs) > len(holders)-need {
			break
		}
	}
	return ref, fmt.Errorf("%w: put %s: %d of %d acks: %w", ErrUnavailable, ref.String()[:12], acks, need, errors.Join(errs...))
}

// storeOn makes data durable on peer p (this node: its own store).
func (s *Service) storeOn(ctx context.Context, p overlay.Peer, ref blockstore.Ref, data []byte) error {
	if p.ID == s.self.ID {
		if err := s.cfg.Store.Put(ctx, ref, data); err != nil {
			return err
		}
		s.stored(ref)
		return nil
	}
	return s.cli.Store(ctx, p.Addr, ref, data)
}

// xorCmp orders a and b by their XOR distance to key.
func xorCmp(key, a, b id.ID) int {
	for i := range key {
		x, y := a[i]^key[i], b[i]^key[i]
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// fillKey is the key of fill round r (1-based) for key: key with its first
// digit advanced by r and, from round 16 on, its second digit by r/16.
// Random derived keys would do poorly: surrogate routing gives a node a
// share of the key space that depends on which first digits other nodes
// have, and in a small cluster a node can own 3% of it, so dozens of
// random keys may miss it. Walking the first digit meets, within 15
// rounds, the root of every first-digit group present; nodes that share
// a first digit with another are left to Peers.
func fillKey(key id.ID, r int) id.ID {
	k := key.WithDigit(0, (key.Digit(0)+r)%id.Base)
	if r >= id.Base {
		k = k.WithDigit(1, (key.Digit(1)+r/id.Base)%id.Base)
	}
	return k
}

// placement returns the nodes that should hold ref, at most R of them:
// the overlay's responsible nodes for its key, then, while fewer than R
// distinct nodes, those of derived keys (hash of key and round number),
// at most FillRounds rounds. Every node computes the same list on the
// same membership, which is what lets repair agree on the holders.
func (s *Service) placement(ctx context.Context, ref blockstore.Ref) ([]overlay.Peer, error) {
	return s.placementWithout(ctx, ref, id.ID{})
}

// placementWithout is placement with the node skip left out (zero: none):
// where ref's R copies go once skip has left.
func (s *Service) placementWithout(ctx context.Context, ref blockstore.Ref, skip id.ID) ([]overlay.Peer, error) {
	key := keyOf(ref)
	var out []overlay.Peer
	add := func(ps []overlay.Peer) {
		for _, p := range ps {
			if p.ID == skip && skip != (id.ID{}) {
				continue
			}
			if len(out) < s.cfg.Replicas && !slices.ContainsFunc(out, func(q overlay.Peer) bool { return q.ID == p.ID }) {
				out = append(out, p)
			}
		}
	}
	ps, err := s.cfg.Overlay.Responsible(ctx, key)
	if err != nil {
		return nil, err
	}
	add(ps)
	// Fill rounds go in concurrent batches but are merged in round order,
	// so the result is what a sequential search would give.
	const batch = 4
	for first := 1; len(out) < s.cfg.Replicas && first <= s.cfg.FillRounds; first += batch {
		n := min(batch, s.cfg.FillRounds-first+1)
		found := make([][]overlay.Peer, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			k := fillKey(key, first+i)
			wg.Go(func() { found[i], errs[i] = s.cfg.Overlay.Responsible(ctx, k) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, ps := range found {
			add(ps)
		}
	}
	if len(out) < s.cfg.Replicas && s.cfg.Peers != nil {
		known := append(s.cfg.Peers(), s.self)
		slices.SortFunc(known, func(a, b overlay.Peer) int { return xorCmp(key, a.ID, b.ID) })
		add(known)
	}
	return out, nil
}
