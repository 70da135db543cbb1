package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// comparison holds every run of --overlay both, for one table with two
// columns (Tapestry, Chord) per mesh size.
type comparison struct {
	tapestry      []*staticResult
	chord         []*chordResult
	tapestryChurn *churnResult
	chordChurn    *chordChurnResult
}

// row is one figure, read from a column's static run or, for a churn row,
// from its churn run; a nil function is a figure the overlay lacks.
type row struct {
	label  string
	format string
	tap    func(s *staticResult, c *churnResult) float64
	chord  func(s *chordResult, c *chordChurnResult) float64
}

var none = math.NaN()

func (c *comparison) rows(o options) (static, churn []row) {
	log16 := func(n int) float64 { return math.Log(float64(n)) / math.Log(16) }
	half := func(n int) float64 { return math.Log2(float64(n)) / 2 }
	static = []row{
		{"hops, mean (forwards)", "%.2f",
			func(s *staticResult, _ *churnResult) float64 { return mean(s.hops) },
			func(s *chordResult, _ *chordChurnResult) float64 { return mean(s.hops) }},
		{"hops target (log16 N | ½log2 N)", "%.2f",
			func(s *staticResult, _ *churnResult) float64 { return log16(s.n) },
			func(s *chordResult, _ *chordChurnResult) float64 { return half(s.n) }},
		{"hops / target (Chord: hops+1)", "%.3f",
			func(s *staticResult, _ *churnResult) float64 { return mean(s.hops) / log16(s.n) },
			func(s *chordResult, _ *chordChurnResult) float64 { return (mean(s.hops) + 1) / half(s.n) }},
		{"stretch, median", "%.2f",
			func(s *staticResult, _ *churnResult) float64 { return pct(s.stretch, 50) },
			func(s *chordResult, _ *chordChurnResult) float64 { return pct(s.stretch, 50) }},
		{"stretch, p90", "%.2f",
			func(s *staticResult, _ *churnResult) float64 { return pct(s.stretch, 90) },
			func(s *chordResult, _ *chordChurnResult) float64 { return pct(s.stretch, 90) }},
		{"messages per join, mean", "%.0f",
			func(s *staticResult, _ *churnResult) float64 { return mean(s.joinMsgs) },
			func(s *chordResult, _ *chordChurnResult) float64 { return mean(s.joinMsgs) }},
		{"messages per join, p99", "%.0f",
			func(s *staticResult, _ *churnResult) float64 { return pct(s.joinMsgs, 99) },
			func(s *chordResult, _ *chordChurnResult) float64 { return pct(s.joinMsgs, 99) }},
		{"bytes per join, mean", "%.0f",
			func(s *staticResult, _ *churnResult) float64 { return mean(s.joinBytes) },
			func(s *chordResult, _ *chordChurnResult) float64 { return mean(s.joinBytes) }},
		{"routing state per node (entries)", "%.1f",
			func(s *staticResult, _ *churnResult) float64 { return mean(s.tableEntries) },
			func(s *chordResult, _ *chordChurnResult) float64 { return mean(s.entries) }},
		{"static lookups right (%)", "%.2f",
			func(s *staticResult, _ *churnResult) float64 { return 100 * ratio(s.rootCorrect, s.routes) },
			func(s *chordResult, _ *chordChurnResult) float64 { return 100 * ratio(s.correct, s.lookups) }},
	}
	churn = []row{
		{"churn: lookups answered (%)", "%.2f",
			func(_ *staticResult, c *churnResult) float64 { return 100 * ratio(c.routes-c.routeFailed, c.routes) },
			func(_ *chordResult, c *chordChurnResult) float64 { return 100 * ratio(c.answered, c.lookups) }},
		{"churn: lookups right (%)", "%.2f",
			func(_ *staticResult, c *churnResult) float64 { return 100 * ratio(c.rootCorrect, c.routes) },
			func(_ *chordResult, c *chordChurnResult) float64 { return 100 * ratio(c.right, c.lookups) }},
		{"churn: objects located (%)", "%.3f",
			func(_ *staticResult, c *churnResult) float64 { return 100 * ratio(c.located, c.locates) },
			nil},
		{"churn: upkeep msgs/node/s", "%.1f",
			func(_ *staticResult, c *churnResult) float64 { return c.msgsPerNodeSec },
			func(_ *chordResult, c *chordChurnResult) float64 { return c.msgsPerNodeSec }},
	}
	static = append(static, []row{
		{"keys/host p99/mean, 1 per host", "%.2f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 { return s.balance1 }},
		{fmt.Sprintf("keys/host p99/mean, %d virtual", o.vnodes), "%.2f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 { return s.balanceV }},
		{"25% crash: answered at once (%)", "%.2f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 { return 100 * ratio(s.fail.earlyOK, s.fail.early) }},
		{"25% crash: right at once (%)", "%.2f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 { return 100 * ratio(s.fail.earlyRight, s.fail.early) }},
		{"25% crash: ring consistent (s)", "%.1f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 {
				if s.fail.consistentAfter < 0 {
					return none
				}
				return s.fail.consistentAfter.Seconds()
			}},
		{fmt.Sprintf("25%% crash: answered %v on (%%)", failRepair), "%.2f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 { return 100 * ratio(s.fail.lateOK, s.fail.late) }},
		{fmt.Sprintf("25%% crash: right %v on (%%)", failRepair), "%.2f", nil,
			func(s *chordResult, _ *chordChurnResult) float64 { return 100 * ratio(s.fail.lateRight, s.fail.late) }},
	}...)
	return static, churn
}

// print writes the side-by-side table: static rows in the columns of the
// static runs, churn rows in the columns of the churn run's size.
func (c *comparison) print(w io.Writer, o options) {
	sizes := slices.Clone(o.nodes)
	if o.churnNodes > 0 && !slices.Contains(sizes, o.churnNodes) {
		sizes = append(sizes, o.churnNodes)
	}
	const lw, cw = 34, 15
	fmt.Fprintf(w, "side by side (seed %d)\n  %-*s", o.seed, lw, "")
	for _, n := range sizes {
		fmt.Fprintf(w, "%*s%*s", cw, "Tapestry "+size(n), cw, "Chord "+size(n))
	}
	fmt.Fprintln(w)
	static, churn := c.rows(o)
	for i, rw := range append(static, churn...) {
		isChurn := i >= len(static)
		var b strings.Builder
		fmt.Fprintf(&b, "  %-*s", lw, rw.label)
		for _, n := range sizes {
			var ts *staticResult
			var cs *chordResult
			if i := slices.Index(o.nodes, n); i >= 0 {
				ts, cs = c.tapestry[i], c.chord[i]
			}
			tc, cc := c.tapestryChurn, c.chordChurn
			if n != o.churnNodes {
				tc, cc = nil, nil
			}
			tv, cv := none, none
			if rw.tap != nil && (isChurn && tc != nil || !isChurn && ts != nil) {
				tv = rw.tap(ts, tc)
			}
			if rw.chord != nil && (isChurn && cc != nil || !isChurn && cs != nil) {
				cv = rw.chord(cs, cc)
			}
			fmt.Fprintf(&b, "%*s%*s", cw, cell(rw.format, tv), cw, cell(rw.format, cv))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(w)
}

func cell(format string, v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func size(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("N=%dk", n/1000)
	}
	return fmt.Sprintf("N=%d", n)
}
