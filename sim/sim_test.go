package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// chordArgs is a small Chord simulation: 100 nodes, a short churn run.
var chordArgs = []string{"--overlay", "chord", "--nodes", "100", "--seed", "7", "--routes", "1000",
	"--churn-nodes", "50", "--churn", "20s"}

// simulate runs the command and returns its output and the figures of its
// last line.
func simulate(t *testing.T, args []string) (string, map[string]any) {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var f map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &f); err != nil {
		t.Fatalf("last line is not a JSON object: %v\n%s", err, lines[len(lines)-1])
	}
	return out.String(), f
}

func TestChord(t *testing.T) {
	_, f := simulate(t, chordArgs)
	num := func(k string) float64 {
		t.Helper()
		v, ok := f[k].(float64)
		if !ok {
			t.Fatalf("figure %s missing or not a number: %v", k, f[k])
		}
		return v
	}
	for _, k := range []string{"chord_n100_hops_mean", "chord_n100_stretch_median", "chord_n100_stretch_p90",
		"chord_n100_join_msgs_mean", "chord_n100_join_msgs_p99", "chord_n100_join_bytes_mean",
		"chord_n100_routing_entries_mean", "chord_n100_keys_p99_over_mean", "chord_n100_keys_p99_over_mean_vnodes",
		"chord_n100_fail25_early_success_pct", "chord_churn_msgs_per_node_s", "wall_s"} {
		num(k)
	}
	half := math.Log2(100) / 2
	if p := num("chord_n100_path_len_mean"); p < 0.7*half || p > 1.3*half {
		t.Errorf("mean path length %.2f, want about ½·log2 N = %.2f", p, half)
	}
	if c := num("chord_n100_lookup_correct_pct"); c != 100 {
		t.Errorf("%.2f%% of the lookups on the static ring found the true successor, want 100%%", c)
	}
	if s, c := num("chord_n100_fail25_success_pct"), num("chord_n100_fail25_correct_pct"); s != 100 || c != 100 {
		t.Errorf("after a quarter crashed and the ring stabilized: %.2f%% answered, %.2f%% right; want 100%%", s, c)
	}
	if k := num("chord_n100_fail25_killed"); k != 25 {
		t.Errorf("%v hosts crashed, want 25", k)
	}
	if v := num("chord_n100_keys_p99_over_mean_vnodes"); v >= num("chord_n100_keys_p99_over_mean") {
		t.Errorf("virtual nodes made the load no more even: p99/mean %.2f", v)
	}
	if s := num("chord_churn_lookup_success_pct"); s < 90 {
		t.Errorf("under churn %.2f%% of the lookups were answered", s)
	}
}

// TestDeterministic: the same seed prints the same figures (wall times and
// memory aside).
func TestDeterministic(t *testing.T) {
	args := []string{"--overlay", "chord", "--nodes", "60", "--seed", "3", "--routes", "300",
		"--churn-nodes", "30", "--churn", "10s"}
	_, a := simulate(t, args)
	_, b := simulate(t, args)
	for k := range a {
		if strings.HasSuffix(k, "wall_s") || strings.HasSuffix(k, "build_s") || k == "heap_sys_mib" {
			delete(a, k)
			delete(b, k)
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("two runs with seed 3 differ:\n%s\n%s", ja, jb)
	}
}

// TestBoth: --overlay both runs the two overlays and prints the table.
func TestBoth(t *testing.T) {
	out, f := simulate(t, []string{"--overlay", "both", "--nodes", "50", "--routes", "100", "--locates", "100",
		"--objects", "20", "--churn-nodes", "0"})
	if !strings.Contains(out, "side by side") || !strings.Contains(out, "Chord N=50") {
		t.Errorf("no side-by-side table:\n%s", out)
	}
	for _, k := range []string{"n50_hops_mean", "chord_n50_hops_mean"} {
		if _, ok := f[k]; !ok {
			t.Errorf("figure %s missing", k)
		}
	}
}
