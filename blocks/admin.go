package blocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/puddlestore/puddlestore/blocks/blockspb"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

// RegisterAdmin serves the block service (blocks/blockspb) of the Service
// s returns on r: what clients and the puddle CLI use to put and get
// blocks through a node. s returns nil while the node is starting (its
// port serves before the Service exists); calls then fail Unavailable.
func RegisterAdmin(r grpc.ServiceRegistrar, s func() *Service) {
	pb.RegisterBlocksServer(r, &adminServer{get: s})
}

type adminServer struct {
	pb.UnimplementedBlocksServer
	get func() *Service
}

func (a *adminServer) svc() (*Service, error) {
	if s := a.get(); s != nil {
		return s, nil
	}
	return nil, status.Error(codes.Unavailable, ErrUnavailable.Error()+": the node is starting")
}

// The errors' gRPC codes, both ways.
var codeOf = []struct {
	err  error
	code codes.Code
}{
	{ErrNotFound, codes.NotFound},
	{ErrCorrupt, codes.DataLoss},
	{ErrInvalid, codes.InvalidArgument},
	{ErrUnavailable, codes.Unavailable},
	// The overlay's and the local store's, which the Service passes on
	// as they are.
	{overlay.ErrUnavailable, codes.Unavailable},
	{blockstore.ErrNotFound, codes.NotFound},
	{blockstore.ErrCorrupt, codes.DataLoss},
	{blockstore.ErrInvalid, codes.InvalidArgument},
}

func statusErr(err error) error {
	code := codes.Unknown
	switch {
	case errors.Is(err, ErrClosed):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	for _, c := range codeOf {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	return status.Error(code, err.Error())
}

func refOf(b []byte) (blockstore.Ref, error) {
	var r blockstore.Ref
	if len(b) != len(r) {
		return r, status.Errorf(codes.InvalidArgument, "%v: a ref is %d bytes, not %d", ErrInvalid, len(r), len(b))
	}
	copy(r[:], b)
	return r, nil
}

func (a *adminServer) Put(stream pb.Blocks_PutServer) error {
	s, err := a.svc()
	if err != nil {
		return err
	}
	var data []byte
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(data)+len(req.GetData()) > blockstore.MaxBlockSize {
			return status.Errorf(codes.InvalidArgument, "%v: a block is at most %d bytes", ErrInvalid, blockstore.MaxBlockSize)
		}
		data = append(data, req.GetData()...)
	}
	ref, err := s.Put(stream.Context(), data)
	if err != nil {
		return statusErr(err)
	}
	return stream.SendAndClose(&pb.PutReply{Ref: ref[:], Size: uint64(len(data))})
}

// getPiece bounds one message of a Get stream.
const getPiece = 1 << 20

func (a *adminServer) Get(req *pb.GetRequest, stream pb.Blocks_GetServer) error {
	s, err := a.svc()
	if err != nil {
		return err
	}
	ref, err := refOf(req.GetRef())
	if err != nil {
		return err
	}
	off, n := req.GetOffset(), req.GetLength()
	if off > blockstore.MaxBlockSize || n > blockstore.MaxBlockSize {
		return status.Errorf(codes.InvalidArgument, "%v: range %d+%d outside any block", ErrInvalid, off, n)
	}
	var data []byte
	var size int64
	if off == 0 && n == 0 {
		data, err = s.Get(stream.Context(), ref)
		size = int64(len(data))
	} else {
		if n == 0 {
			n = blockstore.MaxBlockSize
		}
		data, err = s.GetRange(stream.Context(), ref, int64(off), int64(n))
	}
	if err != nil {
		return statusErr(err)
	}
	first := true
	for first || len(data) > 0 {
		k := min(len(data), getPiece)
		r := &pb.GetReply{Data: data[:k]}
		if first {
			r.Size = uint64(size)
			first = false
		}
		if err := stream.Send(r); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}

func pbHoldings(hs []Holding) []*pb.Holder {
	out := make([]*pb.Holder, len(hs))
	for i, h := range hs {
		out[i] = &pb.Holder{Id: h.Peer.ID[:], Addr: string(h.Peer.Addr), Has: h.Has}
		if h.Err != nil {
			out[i].Error = h.Err.Error()
		}
	}
	return out
}

func (a *adminServer) Where(ctx context.Context, req *pb.RefRequest) (*pb.WhereReply, error) {
	s, err := a.svc()
	if err != nil {
		return nil, err
	}
	ref, err := refOf(req.GetRef())
	if err != nil {
		return nil, err
	}
	placed, located, err := s.Where(ctx, ref)
	if err != nil {
		return nil, statusErr(err)
	}
	return &pb.WhereReply{Placement: pbHoldings(placed), Located: pbHoldings(located)}, nil
}

func statusReply(s *Service) *pb.StatusReply {
	st, self := s.Status(), s.Self()
	return &pb.StatusReply{
		Id: self.ID[:], Addr: string(self.Addr), Replicas: uint32(s.cfg.Replicas),
		Blocks: st.Blocks, Bytes: st.Bytes, CachedBlocks: st.CachedBlocks, CachedBytes: st.CachedBytes,
		UnderReplicated: int64(st.UnderReplicated), UnderReplicatedPuts: st.UnderReplicatedPuts,
		Repairs: st.Repairs, VerifyFailures: st.VerifyFailures, Passes: st.Passes,
	}
}

func (a *adminServer) Status(context.Context, *pb.StatusRequest) (*pb.StatusReply, error) {
	s, err := a.svc()
	if err != nil {
		return nil, err
	}
	return statusReply(s), nil
}

func (a *adminServer) Repair(ctx context.Context, _ *pb.RepairRequest) (*pb.StatusReply, error) {
	s, err := a.svc()
	if err != nil {
		return nil, err
	}
	if err := s.Repair(ctx); err != nil {
		return nil, statusErr(err)
	}
	return statusReply(s), nil
}

func (a *adminServer) HandOff(ctx context.Context, _ *pb.HandOffRequest) (*pb.HandOffReply, error) {
	s, err := a.svc()
	if err != nil {
		return nil, err
	}
	st, err := s.HandOff(ctx)
	if err != nil {
		return nil, statusErr(err)
	}
	return &pb.HandOffReply{Blocks: uint64(st.Blocks), Copied: uint64(st.Copied), Failed: uint64(st.Failed)}, nil
}

// Remote talks to a node's block service over gRPC.
type Remote struct {
	addr string
	conn *grpc.ClientConn
	c    pb.BlocksClient
}

// Dial returns a client of the node at addr ("host:port"). It does not
// connect until the first call.
func Dial(addr string) (*Remote, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(2*getPiece)))
	if err != nil {
		return nil, fmt.Errorf("%w: dial %q: %w", ErrInvalid, addr, err)
	}
	return &Remote{addr: addr, conn: conn, c: pb.NewBlocksClient(conn)}, nil
}

// Close closes the connection.
func (r *Remote) Close() error { return r.conn.Close() }

// Addr is the node's address.
func (r *Remote) Addr() string { return r.addr }

// remoteError is an error a node reported: its message, with the
// package's sentinel for errors.Is.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

func (r *Remote) err(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var kind error
	switch st.Code() {
	case codes.DeadlineExceeded:
		kind = ErrUnavailable
	case codes.Canceled:
		kind = context.Canceled
	}
	for _, c := range codeOf {
		if st.Code() == c.code {
			kind = c.err
			break
		}
	}
	if kind == nil {
		return fmt.Errorf("blocks: node %s: %s (%v)", r.addr, st.Message(), st.Code())
	}
	msg := st.Message()
	if !strings.HasPrefix(msg, "blocks: ") && !strings.HasPrefix(msg, "blockstore: ") {
		msg = kind.Error() + ": " + msg // an error of gRPC's own, not the node's
	}
	return &remoteError{msg: "node " + r.addr + ": " + msg, kind: kind}
}

// putPiece bounds one message of a Put stream (gRPC's default limit is
// 4 MiB).
const putPiece = 1 << 20

// Put stores data as one block through the node and returns its ref. The
// ref is checked against the bytes sent.
func (r *Remote) Put(ctx context.Context, data []byte) (blockstore.Ref, error) {
	want := blockstore.RefOf(data)
	stream, err := r.c.Put(ctx)
	if err != nil {
		return want, r.err(err)
	}
	for off := 0; off < len(data) || off == 0; off += putPiece {
		piece := data[off:min(len(data), off+putPiece)]
		if err := stream.Send(&pb.PutRequest{Data: piece}); err != nil {
			if err == io.EOF {
				break // the server ended the call; CloseAndRecv says why
			}
			return want, r.err(err)
		}
		if len(data) == 0 {
			break
		}
	}
	rep, err := stream.CloseAndRecv()
	if err != nil {
		return want, r.err(err)
	}
	if got, err := refOf(rep.GetRef()); err != nil || got != want {
		return want, fmt.Errorf("%w: node %s acknowledged ref %x for a block of ref %s", ErrCorrupt, r.addr, rep.GetRef(), want)
	}
	return want, nil
}

// Get returns the whole block, verified against ref.
func (r *Remote) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	data, err := r.GetRange(ctx, ref, 0, 0)
	if err != nil {
		return nil, err
	}
	if blockstore.RefOf(data) != ref {
		return nil, fmt.Errorf("%w: node %s returned bytes that do not hash to %s", ErrCorrupt, r.addr, ref)
	}
	return data, nil
}

// GetRange returns n bytes from off of the block (n 0: to its end). The
// node verified the whole block before answering.
func (r *Remote) GetRange(ctx context.Context, ref blockstore.Ref, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("%w: range %d+%d", ErrInvalid, off, n)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.c.Get(ctx, &pb.GetRequest{Ref: ref[:], Offset: uint64(off), Length: uint64(n)})
	if err != nil {
		return nil, r.err(err)
	}
	var data []byte
	for {
		rep, err := stream.Recv()
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, r.err(err)
		}
		if data == nil && rep.GetSize() > 0 && rep.GetSize() <= blockstore.MaxBlockSize {
			data = make([]byte, 0, rep.GetSize())
		}
		if len(data)+len(rep.GetData()) > blockstore.MaxBlockSize {
			return nil, fmt.Errorf("%w: node %s sent more than a block", ErrCorrupt, r.addr)
		}
		data = append(data, rep.GetData()...)
	}
}

func fromHolders(hs []*pb.Holder) ([]Holding, error) {
	out := make([]Holding, len(hs))
	for i, h := range hs {
		x, err := id.FromBytes(h.GetId())
		if err != nil {
			return nil, fmt.Errorf("blocks: bad reply: %w", err)
		}
		out[i] = Holding{Peer: overlay.Peer{ID: x, Addr: transport.Addr(h.GetAddr())}, Has: h.GetHas()}
		if h.GetError() != "" {
			out[i].Err = errors.New(h.GetError())
		}
	}
	return out, nil
}

// Where reports ref's placement and located holders (Service.Where).
func (r *Remote) Where(ctx context.Context, ref blockstore.Ref) (placement, located []Holding, err error) {
	rep, err := r.c.Where(ctx, &pb.RefRequest{Ref: ref[:]})
	if err != nil {
		return nil, nil, r.err(err)
	}
	if placement, err = fromHolders(rep.GetPlacement()); err != nil {
		return nil, nil, err
	}
	located, err = fromHolders(rep.GetLocated())
	return placement, located, err
}

// NodeStatus is a node's Status with its identity and R.
type NodeStatus struct {
	Self     overlay.Peer
	Replicas int
	Status
}

func fromStatus(r *pb.StatusReply) (NodeStatus, error) {
	x, err := id.FromBytes(r.GetId())
	if err != nil {
		return NodeStatus{}, fmt.Errorf("blocks: bad reply: %w", err)
	}
	return NodeStatus{
		Self: overlay.Peer{ID: x, Addr: transport.Addr(r.GetAddr())}, Replicas: int(r.GetReplicas()),
		Status: Status{
			Blocks: r.GetBlocks(), Bytes: r.GetBytes(), CachedBlocks: r.GetCachedBlocks(), CachedBytes: r.GetCachedBytes(),
			UnderReplicated: int(r.GetUnderReplicated()), UnderReplicatedPuts: r.GetUnderReplicatedPuts(),
			Repairs: r.GetRepairs(), VerifyFailures: r.GetVerifyFailures(), Passes: r.GetPasses(),
		},
	}, nil
}

// Status returns the node's counters.
func (r *Remote) Status(ctx context.Context) (NodeStatus, error) {
	rep, err := r.c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return NodeStatus{}, r.err(err)
	}
	return fromStatus(rep)
}

// Repair runs a repair pass on the node and returns its counters after.
func (r *Remote) Repair(ctx context.Context) (NodeStatus, error) {
	rep, err := r.c.Repair(ctx, &pb.RepairRequest{})
	if err != nil {
		return NodeStatus{}, r.err(err)
	}
	return fromStatus(rep)
}

// HandOff makes the node copy every block it holds to the nodes that will
// hold it once the node has left (Service.HandOff).
func (r *Remote) HandOff(ctx context.Context) (HandOffStatus, error) {
	rep, err := r.c.HandOff(ctx, &pb.HandOffRequest{})
	if err != nil {
		return HandOffStatus{}, r.err(err)
	}
	return HandOffStatus{Blocks: int(rep.GetBlocks()), Copied: int(rep.GetCopied()), Failed: int(rep.GetFailed())}, nil
}
