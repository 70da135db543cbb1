package rafttest

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// kvModel is the sequential specification of the store for porcupine, one
// partition per key: the state is the key's value.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(Op).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(Op), output.(string)
		switch in.Kind {
		case OpGet:
			return out == st, st
		case OpPut:
			return true, in.Value
		default:
			return true, st + in.Value
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(Op)
		if in.Kind == OpGet {
			return fmt.Sprintf("get(%q) -> %q", in.Key, output.(string))
		}
		return fmt.Sprintf("%s(%q, %q)", in.Kind, in.Key, in.Value)
	},
}

// CheckLinearizable checks the completed client operations with porcupine
// and fails the test if no linearization exists.
func (c *Cluster) CheckLinearizable(timeout time.Duration) {
	c.t.Helper()
	ops := make([]porcupine.Operation, len(c.history))
	for i, e := range c.history {
		ops[i] = porcupine.Operation{ClientId: e.Client - 1, Input: e.Op, Call: e.Call, Output: e.Value, Return: e.Return}
	}
	switch porcupine.CheckOperationsTimeout(kvModel, ops, timeout) {
	case porcupine.Illegal:
		c.Fatalf("history of %d operations is not linearizable:\n%s", len(ops), c.describeHistory())
	case porcupine.Unknown:
		c.t.Logf("seed %d: linearizability check timed out after %v (%d operations)", c.cfg.Seed, timeout, len(ops))
	}
}

func (c *Cluster) describeHistory() string {
	s := ""
	for _, e := range c.history {
		s += fmt.Sprintf("  [%d,%d] %v -> %q\n", e.Call, e.Return, e.Op, e.Value)
	}
	return s
}
