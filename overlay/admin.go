package overlay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/puddlestore/puddlestore/id"
	pb "github.com/puddlestore/puddlestore/overlay/overlaypb"
	"github.com/puddlestore/puddlestore/transport"
)

// Admin is a running node the admin service (overlay/overlaypb) serves:
// a *Tapestry or a *Chord.
type Admin interface {
	Overlay
	// Route traces the route from the node to key's root (Chord: its
	// successor), hop by hop, this node first.
	Route(ctx context.Context, key id.ID) ([]Peer, error)
	adminStatus() *pb.StatusReply
	adminTable() (*pb.TableReply, error)
	adminRing() (*pb.RingReply, error)
}

// RegisterAdmin serves the admin service of the node get returns on s.
// get returns nil while the node is starting (its port serves before it
// has joined); calls then fail Unavailable. A node started with Listen
// does this itself.
func RegisterAdmin(s grpc.ServiceRegistrar, get func() Admin) {
	pb.RegisterOverlayServer(s, &adminServer{get: get})
}

type adminServer struct {
	pb.UnimplementedOverlayServer
	get func() Admin
}

func (s *adminServer) node() (Admin, error) {
	if t := s.get(); t != nil {
		return t, nil
	}
	return nil, status.Error(codes.Unavailable, ErrUnavailable.Error()+": the node is starting")
}

// statusErr gives an overlay error its gRPC code, so that the client can
// map it back.
func statusErr(err error) error {
	code := codes.Unknown
	switch {
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed):
		code = codes.Unavailable
	case errors.Is(err, ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

func keyOf(b []byte) (id.ID, error) {
	k, err := id.FromBytes(b)
	if err != nil {
		return k, status.Error(codes.InvalidArgument, fmt.Sprintf("%v: %v", ErrInvalid, err))
	}
	return k, nil
}

func pbPeer(p Peer, rtt time.Duration) *pb.Peer {
	return &pb.Peer{Id: p.ID[:], Addr: string(p.Addr), RttNs: int64(rtt)}
}

func pbPeers(ps []Peer) *pb.PeersReply {
	out := &pb.PeersReply{Peers: make([]*pb.Peer, len(ps))}
	for i, p := range ps {
		out.Peers[i] = pbPeer(p, 0)
	}
	return out
}

func (s *adminServer) Status(context.Context, *pb.StatusRequest) (*pb.StatusReply, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	return t.adminStatus(), nil
}

func (s *adminServer) Table(context.Context, *pb.TableRequest) (*pb.TableReply, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	return t.adminTable()
}

func (s *adminServer) Ring(context.Context, *pb.RingRequest) (*pb.RingReply, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	return t.adminRing()
}

func (s *adminServer) Route(ctx context.Context, req *pb.KeyRequest) (*pb.PeersReply, error) {
	return s.peers(ctx, req.GetKey(), Admin.Route)
}

func (s *adminServer) Responsible(ctx context.Context, req *pb.KeyRequest) (*pb.PeersReply, error) {
	return s.peers(ctx, req.GetKey(), Admin.Responsible)
}

func (s *adminServer) peers(ctx context.Context, key []byte, f func(Admin, context.Context, id.ID) ([]Peer, error)) (*pb.PeersReply, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	k, err := keyOf(key)
	if err != nil {
		return nil, err
	}
	ps, err := f(t, ctx, k)
	if err != nil {
		return nil, statusErr(err)
	}
	return pbPeers(ps), nil
}

func (s *adminServer) Publish(ctx context.Context, req *pb.KeyRequest) (*pb.Empty, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	k, err := keyOf(req.GetKey())
	if err != nil {
		return nil, err
	}
	if err := t.Publish(ctx, k); err != nil {
		return nil, statusErr(err)
	}
	return &pb.Empty{}, nil
}

func (s *adminServer) Unpublish(ctx context.Context, req *pb.KeyRequest) (*pb.Empty, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	k, err := keyOf(req.GetKey())
	if err != nil {
		return nil, err
	}
	if err := t.Unpublish(ctx, k); err != nil {
		return nil, statusErr(err)
	}
	return &pb.Empty{}, nil
}

func (s *adminServer) Locate(ctx context.Context, req *pb.LocateRequest) (*pb.PeersReply, error) {
	t, err := s.node()
	if err != nil {
		return nil, err
	}
	k, err := keyOf(req.GetKey())
	if err != nil {
		return nil, err
	}
	ex := make([]id.ID, len(req.GetExclude()))
	for i, b := range req.GetExclude() {
		if ex[i], err = keyOf(b); err != nil {
			return nil, err
		}
	}
	ps, err := t.Locate(ctx, k, ex...)
	if err != nil {
		return nil, statusErr(err)
	}
	return pbPeers(ps), nil
}

// Client talks to a running node's admin service.
type Client struct {
	addr string
	conn *grpc.ClientConn
	c    pb.OverlayClient
}

// Dial returns a client of the node at addr ("host:port"). It does not
// connect until the first call.
func Dial(addr string) (*Client, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("%w: dial %q: %w", ErrInvalid, addr, err)
	}
	return &Client{addr: addr, conn: conn, c: pb.NewOverlayClient(conn)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// remoteError is an error a node reported: its message, with the
// overlay's error for errors.Is.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// clientErr maps a gRPC error from the node at addr back to the overlay's
// errors.
func clientErr(addr string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var kind error
	switch st.Code() {
	case codes.NotFound:
		kind = ErrNotFound
	case codes.Unavailable, codes.DeadlineExceeded:
		kind = ErrUnavailable
	case codes.InvalidArgument:
		kind = ErrInvalid
	case codes.Canceled:
		kind = context.Canceled
	default:
		return fmt.Errorf("overlay: node %s: %s (%v)", addr, st.Message(), st.Code())
	}
	msg := st.Message()
	if !strings.HasPrefix(msg, kind.Error()) {
		msg = kind.Error() + ": " + msg // an error of gRPC's own, not the node's
	}
	return &remoteError{msg: "node " + addr + ": " + msg, kind: kind}
}

func fromPB(p *pb.Peer) (Neighbour, error) {
	x, err := id.FromBytes(p.GetId())
	if err != nil {
		return Neighbour{}, fmt.Errorf("overlay: bad reply: %w", err)
	}
	return Neighbour{Peer: Peer{ID: x, Addr: transport.Addr(p.GetAddr())}, RTT: time.Duration(p.GetRttNs())}, nil
}

func (c *Client) peers(r *pb.PeersReply, err error) ([]Peer, error) {
	if err != nil {
		return nil, clientErr(c.addr, err)
	}
	out := make([]Peer, 0, len(r.GetPeers()))
	for _, p := range r.GetPeers() {
		n, err := fromPB(p)
		if err != nil {
			return nil, err
		}
		out = append(out, n.Peer)
	}
	return out, nil
}

// Status returns the node's summary.
func (c *Client) Status(ctx context.Context) (NodeStatus, error) {
	r, err := c.c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return NodeStatus{}, clientErr(c.addr, err)
	}
	self, err := fromPB(r.GetSelf())
	if err != nil {
		return NodeStatus{}, err
	}
	return NodeStatus{
		Self: self.Peer, Overlay: r.GetOverlay(), Positions: int(r.GetPositions()), State: r.GetState(), Tick: r.GetTick(),
		Neighbours: int(r.GetNeighbours()), Backpointers: int(r.GetBackpointers()),
		Pointers: int(r.GetPointers()), Published: int(r.GetPublished()),
		Sent: r.GetSent(), SentBytes: r.GetSentBytes(), Failures: r.GetFailures(), Repairs: r.GetRepairs(),
		Dropped: r.GetDropped(),
	}, nil
}

// Table returns the node's routing table.
func (c *Client) Table(ctx context.Context) (RoutingTable, error) {
	r, err := c.c.Table(ctx, &pb.TableRequest{})
	if err != nil {
		return RoutingTable{}, clientErr(c.addr, err)
	}
	self, err := fromPB(r.GetSelf())
	if err != nil {
		return RoutingTable{}, err
	}
	out := RoutingTable{Self: self.Peer, Backpointers: int(r.GetBackpointers())}
	for _, s := range r.GetSlots() {
		sl := Slot{Level: int(s.GetLevel()), Digit: int(s.GetDigit())}
		for _, p := range s.GetEntries() {
			n, err := fromPB(p)
			if err != nil {
				return RoutingTable{}, err
			}
			sl.Neighbours = append(sl.Neighbours, n)
		}
		out.Slots = append(out.Slots, sl)
	}
	return out, nil
}

// Ring returns the ring positions of a Chord node.
func (c *Client) Ring(ctx context.Context) ([]Position, error) {
	r, err := c.c.Ring(ctx, &pb.RingRequest{})
	if err != nil {
		return nil, clientErr(c.addr, err)
	}
	var out []Position
	for _, pp := range r.GetPositions() {
		self, err := fromPB(pp.GetSelf())
		if err != nil {
			return nil, err
		}
		p := Position{Self: self.Peer, Joined: pp.GetJoined()}
		if pp.GetPredecessor() != nil {
			pr, err := fromPB(pp.GetPredecessor())
			if err != nil {
				return nil, err
			}
			p.Predecessor = &pr.Peer
		}
		for _, s := range pp.GetSuccessors() {
			n, err := fromPB(s)
			if err != nil {
				return nil, err
			}
			p.Successors = append(p.Successors, n.Peer)
		}
		for _, f := range pp.GetFingers() {
			n, err := fromPB(f.GetPeer())
			if err != nil {
				return nil, err
			}
			p.Fingers = append(p.Fingers, Finger{Index: int(f.GetIndex()), Peer: n.Peer})
		}
		out = append(out, p)
	}
	return out, nil
}

// Route returns the route from the node to key's root, the root last.
func (c *Client) Route(ctx context.Context, key id.ID) ([]Peer, error) {
	return c.peers(c.c.Route(ctx, &pb.KeyRequest{Key: key[:]}))
}

// Responsible returns the roots of key and its salted keys.
func (c *Client) Responsible(ctx context.Context, key id.ID) ([]Peer, error) {
	return c.peers(c.c.Responsible(ctx, &pb.KeyRequest{Key: key[:]}))
}

// Publish makes the node announce that it holds key.
func (c *Client) Publish(ctx context.Context, key id.ID) error {
	_, err := c.c.Publish(ctx, &pb.KeyRequest{Key: key[:]})
	return c.errOrNil(err)
}

// Unpublish withdraws the node's announcement of key.
func (c *Client) Unpublish(ctx context.Context, key id.ID) error {
	_, err := c.c.Unpublish(ctx, &pb.KeyRequest{Key: key[:]})
	return c.errOrNil(err)
}

// Locate returns holders of key as the node finds them, nearest to it
// first.
func (c *Client) Locate(ctx context.Context, key id.ID, exclude ...id.ID) ([]Peer, error) {
	req := &pb.LocateRequest{Key: key[:]}
	for _, x := range exclude {
		req.Exclude = append(req.Exclude, x[:])
	}
	return c.peers(c.c.Locate(ctx, req))
}

func (c *Client) errOrNil(err error) error {
	if err == nil {
		return nil
	}
	return clientErr(c.addr, err)
}
