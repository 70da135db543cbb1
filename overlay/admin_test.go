package overlay

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/puddlestore/puddlestore/id"
	pb "github.com/puddlestore/puddlestore/overlay/overlaypb"
)

// TestGRPCAdmin runs three nodes over gRPC on loopback and drives them
// through the admin service, as the CLI does.
func TestGRPCAdmin(t *testing.T) {
	ctx := ctxT(t, 20*time.Second)
	var nodes []*Tapestry
	for i := range 3 {
		cfg := TapestryConfig{Listen: "127.0.0.1:0"}
		fast(&cfg)
		if i > 0 {
			cfg.Join = nodes[0].Self().Addr
		}
		x, err := StartTapestry(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		nodes = append(nodes, x)
	}
	c, err := Dial(string(nodes[1].Self().Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	st, err := c.Status(ctx)
	if err != nil || st.Self != nodes[1].Self() || st.State != "joined" {
		t.Fatalf("status %+v, %v", st, err)
	}
	tb, err := c.Table(ctx)
	if err != nil || tb.Self != nodes[1].Self() || len(tb.Slots) == 0 {
		t.Fatalf("table %+v, %v", tb, err)
	}
	key := id.Hash([]byte("admin"))
	if err := c.Publish(ctx, key); err != nil {
		t.Fatal(err)
	}
	c2, err := Dial(string(nodes[2].Self().Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got, err := c2.Locate(ctx, key); err != nil || len(got) != 1 || got[0] != nodes[1].Self() {
		t.Fatalf("locate through the admin service: %v, %v", got, err)
	}
	if _, err := c2.Locate(ctx, key, nodes[1].Self().ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("locate excluding the holder: %v, want ErrNotFound", err)
	}
	path, err := c2.Route(ctx, key)
	if err != nil || path[0] != nodes[2].Self() {
		t.Fatalf("route %v, %v", path, err)
	}
	roots, err := c2.Responsible(ctx, key)
	if err != nil || roots[0] != path[len(path)-1] {
		t.Fatalf("responsible %v, %v (route %v)", roots, err, path)
	}
	if err := c.Unpublish(ctx, key); err != nil {
		t.Fatal(err)
	}

	// A malformed key is InvalidArgument, mapped back to ErrInvalid.
	conn, err := grpc.NewClient("passthrough:///"+string(nodes[0].Self().Addr), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = pb.NewOverlayClient(conn).Locate(ctx, &pb.LocateRequest{Key: []byte("short")})
	if err := clientErr("n0", err); !errors.Is(err, ErrInvalid) {
		t.Fatalf("malformed key: %v", err)
	}

	// A node that is gone is unavailable.
	addr := string(nodes[2].Self().Addr)
	nodes[2].Close()
	gone, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	if _, err := gone.Status(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("status of a closed node: %v, want ErrUnavailable", err)
	}
}
