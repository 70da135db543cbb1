package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// loadAvg is the 1-minute load average (0 if unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return v
}

// figures are a run's results.
type figures struct {
	sha, disk, tcp, limit, gen  float64 // MiB/s
	put, get, editPut           float64 // MiB/s
	putCopies                   float64 // bytes stored per byte put
	putChunks                   int
	small, smallP50, smallP99   float64 // files/s, ms
	stat, statP50, statP99      float64 // ops/s, ms
	editNew, editNewBlocks      float64 // MiB and blocks, per copy
	editUploaded, editManifests float64 // MiB
	reportedR, nodes            int
	load1Start, load1End        float64
	bd                          *breakdown // nil: not run
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func (f *figures) print(o options) {
	mib := float64(o.size) / (1 << 20)
	fmt.Printf("\nload average: %.2f at the start, %.2f at the end\n", f.load1Start, f.load1End)
	if f.reportedR != o.replicas {
		fmt.Printf("WARNING: the storage nodes report R=%d, not %d\n", f.reportedR, o.replicas)
	}
	fmt.Printf("%-44s %12s  %-22s %s\n", "figure", "value", "target", "verdict")
	row := func(name, value, target, v string) { fmt.Printf("%-44s %12s  %-22s %s\n", name, value, target, v) }
	num := func(v float64, unit string) string { return fmt.Sprintf("%.1f %s", v, unit) }
	row("SHA-256, one core", num(f.sha, "MiB/s"), "", "")
	row("disk: 1 MiB write + fdatasync", num(f.disk, "MiB/s"), "", "")
	row("loopback TCP, one connection", num(f.tcp, "MiB/s"), "", "")
	row("content generator (ChaCha8)", num(f.gen, "MiB/s"), "", "")
	row(fmt.Sprintf("limit: min(disk / %d, SHA-256)", o.replicas), num(f.limit, "MiB/s"), "", "")
	row(fmt.Sprintf("put %.0f MiB (%d chunks, %.2f copies)", mib, f.putChunks, f.putCopies), num(f.put, "MiB/s"),
		fmt.Sprintf("≥ %.1f (0.50)", 0.5*f.limit), fmt.Sprintf("%s (%.2f)", verdict(f.put >= 0.5*f.limit), f.put/f.limit))
	row("get, through a second client", num(f.get, "MiB/s"),
		fmt.Sprintf("≥ %.1f (0.70)", 0.7*f.limit), fmt.Sprintf("%s (%.2f)", verdict(f.get >= 0.7*f.limit), f.get/f.limit))
	row(fmt.Sprintf("small files: %d × %d B, %d clients", o.smallFiles, o.smallBytes, o.clients), num(f.small, "files/s"),
		"≥ 2000", verdict(f.small >= 2000))
	row("  one put: p50", fmt.Sprintf("%.2f ms", f.smallP50), "", "")
	row("  one put: p99", fmt.Sprintf("%.2f ms", f.smallP99), "", "")
	row("stat of every small file", num(f.stat, "ops/s"), "", "")
	row("  one stat: p50", fmt.Sprintf("%.2f ms", f.statP50), "", "")
	row("  one stat: p99", fmt.Sprintf("%.2f ms", f.statP99), "", "")
	row("edited re-put (1 MiB in the middle)", num(f.editPut, "MiB/s"), "", "")
	row("  new bytes stored (growth / R)", fmt.Sprintf("%.2f MiB", f.editNew), "≤ 4 MiB", verdict(f.editNew <= 4))
	row("  new blocks stored (growth / R)", fmt.Sprintf("%.1f", f.editNewBlocks), "", "")
	row("  chunk bytes uploaded", fmt.Sprintf("%.1f MiB", f.editUploaded), "", "")
	row("  manifest bytes uploaded", fmt.Sprintf("%.1f KiB", f.editManifests), "", "")
	if f.bd != nil {
		row("breakdown (steps timed one by one):", "", "", "")
		bd := f.bd
		row(fmt.Sprintf("  small: block put, %d clients: p50", o.clients), fmt.Sprintf("%.2f ms", bd.blockPut.percentile(0.5)), "", "")
		row("  small: block put: p99", fmt.Sprintf("%.2f ms", bd.blockPut.percentile(0.99)), "", "")
		row(fmt.Sprintf("  small: commit, %d clients: p50", o.clients), fmt.Sprintf("%.2f ms", bd.commit.percentile(0.5)), "", "")
		row("  small: commit: p99", fmt.Sprintf("%.2f ms", bd.commit.percentile(0.99)), "", "")
		row("  small: both, in sequence", num(bd.blockPut.perSecond(), "files/s"), "", "")
		row("  1 MiB block put, one at a time: p50", fmt.Sprintf("%.1f ms", bd.chunkSeq.percentile(0.5)), "", "")
		row("  1 MiB block puts, one at a time", num(bd.chunkSeq.perSecond(), "MiB/s"), "", "")
		row(fmt.Sprintf("  1 MiB block put, %d at once: p50", bd.inFlight), fmt.Sprintf("%.1f ms", bd.chunkParallel.percentile(0.5)), "", "")
		row(fmt.Sprintf("  1 MiB block puts, %d at once", bd.inFlight), num(bd.chunkParallel.perSecond(), "MiB/s"), "", "")
		row("  block puts retried on another node", strconv.FormatInt(bd.retries.Load(), 10), "", "")
		if err := bd.lastRetry.Load(); err != nil {
			fmt.Printf("  the last retried put failed with: %v\n", *err)
		}
	}
	fmt.Println()
	figs := map[string]any{
		"size_mib": r1(mib), "small_files": o.smallFiles, "small_bytes": o.smallBytes, "clients": o.clients,
		"replicas": o.replicas, "overlay": o.overlay, "storage_nodes": f.nodes, "in_process": o.inProcess,
		"sha256_mib_s": r1(f.sha), "disk_fsync_write_mib_s": r1(f.disk), "loopback_tcp_mib_s": r1(f.tcp),
		"generator_mib_s": r1(f.gen), "limit_mib_s": r1(f.limit),
		"put_mib_s": r1(f.put), "put_ratio": r2(f.put / f.limit), "put_chunks": f.putChunks, "put_copies": r2(f.putCopies),
		"get_mib_s": r1(f.get), "get_ratio": r2(f.get / f.limit),
		"small_files_per_s": r1(f.small), "small_put_p50_ms": r2(f.smallP50), "small_put_p99_ms": r2(f.smallP99),
		"stat_ops_s": r1(f.stat), "stat_p50_ms": r2(f.statP50), "stat_p99_ms": r2(f.statP99),
		"edit_put_mib_s": r1(f.editPut), "edit_new_mib": r2(f.editNew), "edit_new_blocks": r1(f.editNewBlocks),
		"edit_uploaded_mib": r1(f.editUploaded), "edit_manifest_kib": r1(f.editManifests),
		"load1_start": f.load1Start, "load1_end": f.load1End,
	}
	if bd := f.bd; bd != nil {
		figs["bd_small_block_put_p50_ms"] = r2(bd.blockPut.percentile(0.5))
		figs["bd_small_block_put_p99_ms"] = r2(bd.blockPut.percentile(0.99))
		figs["bd_small_commit_p50_ms"] = r2(bd.commit.percentile(0.5))
		figs["bd_small_commit_p99_ms"] = r2(bd.commit.percentile(0.99))
		figs["bd_small_files_per_s"] = r1(bd.blockPut.perSecond())
		figs["bd_chunk_seq_p50_ms"] = r1(bd.chunkSeq.percentile(0.5))
		figs["bd_chunk_seq_mib_s"] = r1(bd.chunkSeq.perSecond())
		figs["bd_chunk_parallel"] = bd.inFlight
		figs["bd_chunk_parallel_p50_ms"] = r1(bd.chunkParallel.percentile(0.5))
		figs["bd_chunk_parallel_mib_s"] = r1(bd.chunkParallel.perSecond())
		figs["bd_put_retries"] = bd.retries.Load()
	}
	b, err := json.Marshal(figs)
	if err != nil {
		panic(err) // a map of numbers always marshals
	}
	fmt.Println(string(b))
}

func r1(v float64) float64 { return math.Round(v*10) / 10 }
func r2(v float64) float64 { return math.Round(v*100) / 100 }
