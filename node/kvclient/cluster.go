package kvclient

import (
	"context"

	"github.com/puddlestore/puddlestore/node/kvpb"
)

// clusterCall runs a membership request against the leader.
func (c *Client) clusterCall(ctx context.Context, f func(context.Context, kvpb.ClusterClient) (*kvpb.MemberResponse, error)) error {
	return c.do(ctx, func(ctx context.Context, _ kvpb.KVClient, addr string) (*kvpb.Error, error) {
		cc, err := c.cl.Conn(addr)
		if err != nil {
			return nil, err
		}
		resp, err := f(ctx, kvpb.NewClusterClient(cc))
		if err != nil {
			return nil, err
		}
		return resp.Error, nil
	})
}

// AddMember adds node id as a learner; it starts receiving the log.
func (c *Client) AddMember(ctx context.Context, id uint64, peerAddr, clientAddr string) error {
	return c.clusterCall(ctx, func(ctx context.Context, cc kvpb.ClusterClient) (*kvpb.MemberResponse, error) {
		return cc.AddMember(ctx, &kvpb.AddMemberRequest{Id: id, PeerAddr: peerAddr, ClientAddr: clientAddr})
	})
}

// PromoteMember makes learner id a voter once it has caught up; until then
// the leader refuses and the client retries until ctx ends.
func (c *Client) PromoteMember(ctx context.Context, id uint64) error {
	return c.clusterCall(ctx, func(ctx context.Context, cc kvpb.ClusterClient) (*kvpb.MemberResponse, error) {
		return cc.PromoteMember(ctx, &kvpb.MemberRequest{Id: id})
	})
}

// RemoveMember removes node id.
func (c *Client) RemoveMember(ctx context.Context, id uint64) error {
	return c.clusterCall(ctx, func(ctx context.Context, cc kvpb.ClusterClient) (*kvpb.MemberResponse, error) {
		return cc.RemoveMember(ctx, &kvpb.MemberRequest{Id: id})
	})
}

// TransferLeader asks the leader to hand leadership to id.
func (c *Client) TransferLeader(ctx context.Context, id uint64) error {
	return c.clusterCall(ctx, func(ctx context.Context, cc kvpb.ClusterClient) (*kvpb.MemberResponse, error) {
		return cc.TransferLeader(ctx, &kvpb.MemberRequest{Id: id})
	})
}
