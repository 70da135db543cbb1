package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/gateway"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

// chromeNames are the browser binaries the test looks for, in order.
var chromeNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell", "chrome"}

func findChrome() string {
	for _, n := range chromeNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives the web UI in headless Chromium against a whole
// in-process cluster: uploads, versions, restore and download on the file
// browser, then the cluster and overlay pages. Each page's full-page
// screenshot is kept in the test's artifact directory (go test -artifacts).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and a browser")
	}
	chrome := findChrome()
	if chrome == "" {
		t.Skipf("no Chromium or Chrome binary found (looked for %v); CI installs Debian's chromium", chromeNames)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	l, err := node.StartLocal(ctx, node.LocalConfig{
		Dir:          t.TempDir(),
		StorageNodes: 4,
		TickInterval: 10 * time.Millisecond,
		Overlay:      overlay.Options{}.WithTick(20 * time.Millisecond),
		Blocks:       blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c, err := client.Dial(l.MetaAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	gw, err := gateway.New(gateway.Config{Client: c, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)

	// Two versions of one file, each large enough to be stored in blocks
	// rather than inline, chosen by the page's file input from two folders.
	dir := t.TempDir()
	v1 := bytes.Repeat([]byte("version one of the file\n"), 1000)
	v2 := bytes.Repeat([]byte("the second version\n"), 900)
	file1 := writeFile(t, filepath.Join(dir, "v1", "notes.txt"), v1)
	file2 := writeFile(t, filepath.Join(dir, "v2", "notes.txt"), v2)

	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	// The first Run starts the browser and ties it to bctx; the steps'
	// timeouts are derived from bctx so that they end only their action.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	// The page's uncaught exceptions and console.error calls are the
	// test's failures; the browser's own log (a 404 the page reports
	// itself, say) is only logged.
	consoleDone := make(chan struct{})
	defer func() {
		cancelBrowser()
		<-consoleDone // no t.Logf once the test has returned
	}()
	go func() {
		defer close(consoleDone)
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			switch {
			case m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleError && m.Source == "":
				t.Errorf("browser console: %s", m)
			case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
				t.Logf("browser console: %s", m)
			}
		}
	}()

	start := time.Now()
	row := `tr[data-testid="entry"][data-name="notes.txt"]`
	count := func(sel string, n int) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf("document.querySelectorAll(%q).length === %d", sel, n))
	}
	attr := func(sel, name, want string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf("document.querySelector(%q)?.getAttribute(%q) === %q", sel, name, want))
	}

	// The file browser: upload twice, see two versions, restore the first.
	step(t, bctx, "file browser: upload",
		chromedp.Navigate(srv.URL+"/#/files/"),
		chromedp.WaitVisible(chromedp.CSS("#listing")),
		chromedp.Poll[chromedp.Void]("document.querySelector('#listing').dataset.loaded"),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-input"), []string{file1}),
		attr(row, "data-versions", "1"),
		attr("#uploads", "data-state", "done"),
	)
	step(t, bctx, "file browser: second version",
		chromedp.SetUploadFiles(chromedp.CSS("#upload-input"), []string{file2}),
		attr(row, "data-versions", "2"),
	)
	step(t, bctx, "file browser: history and restore",
		chromedp.Click(chromedp.CSS(row+` button[data-testid="history-btn"]`)),
		chromedp.WaitVisible(chromedp.CSS("#history")),
		count(`#history-body tr[data-testid="history-row"]`, 2),
		chromedp.Click(chromedp.CSS(`button[data-testid="restore-btn"][data-version="1"]`)),
		count(`#history-body tr[data-testid="history-row"]`, 3),
		attr(row, "data-versions", "3"),
	)
	href, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS(row+` a[data-testid="download-link"]`), "href"))
	if err != nil || !href.Exists {
		t.Fatalf("download link: %v (exists %v)", err, href.Exists)
	}
	got, version := download(t, ctx, srv.URL+href.Value)
	if !bytes.Equal(got, v1) {
		t.Errorf("download after restoring version 1: %d bytes, want version 1's %d", len(got), len(v1))
	}
	if version != 3 {
		t.Errorf("download after restoring version 1: X-Puddle-Version %d, want 3", version)
	}
	screenshot(t, bctx, "files.png")

	// Directories: make one, enter it, come back by the breadcrumb, delete
	// it through the confirmation dialog.
	docs := `tr[data-testid="entry"][data-name="docs"]`
	step(t, bctx, "file browser: directories",
		chromedp.SendKeys(chromedp.CSS("#mkdir-name"), "docs"),
		chromedp.Click(chromedp.CSS("#mkdir-btn")),
		count(docs, 1),
		chromedp.Click(chromedp.CSS(docs+` a[data-testid="entry-link"]`)),
		chromedp.Poll[chromedp.Void](`location.hash === "#/files/docs" && document.querySelectorAll('#breadcrumb [data-testid="crumb"]').length === 2`),
		chromedp.Click(chromedp.CSS(`#breadcrumb a[data-testid="crumb"]`)),
		count(row, 1),
		chromedp.Click(chromedp.CSS(docs+` button[data-testid="delete-btn"]`)),
		chromedp.WaitVisible(chromedp.CSS("#dialog")),
		chromedp.Click(chromedp.CSS("#dialog-ok")),
		count(docs, 0),
	)
	// Time travel: any moment but now makes the page read-only; Now undoes it.
	step(t, bctx, "file browser: time travel",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#time-slider"); s.value = "999"; s.dispatchEvent(new Event("change")); })()`),
		chromedp.WaitVisible(chromedp.CSS("#past-banner")),
		chromedp.Poll[chromedp.Void](`document.querySelector("#upload-input").disabled && document.querySelector("#mkdir-btn").disabled`),
		chromedp.Click(chromedp.CSS("#time-now")),
		chromedp.WaitNotVisible(chromedp.CSS("#past-banner")),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#upload-input").disabled`),
		count(row, 1),
	)

	// The cluster page: 3 metadata nodes, one of them the leader; 4 storage nodes.
	step(t, bctx, "cluster page",
		chromedp.Click(chromedp.CSS("#nav-cluster")),
		chromedp.WaitVisible(chromedp.CSS("#page-cluster")),
		count(`tr[data-testid="meta-row"]`, 3),
		count(`tr[data-testid="meta-row"].leader`, 1),
		count(`tr[data-testid="storage-row"]`, 4),
		count(`tr[data-testid="storage-row"].down`, 0),
	)
	screenshot(t, bctx, "cluster.png")

	// The overlay page: one node per storage node, and the file's blocks.
	step(t, bctx, "overlay page",
		chromedp.Click(chromedp.CSS("#nav-overlay")),
		chromedp.WaitVisible(chromedp.CSS("#overlay-svg")),
		count(`#overlay-svg circle[data-testid="overlay-node"]`, 4),
		chromedp.SendKeys(chromedp.CSS("#where-path"), "/notes.txt"),
		chromedp.Click(chromedp.CSS("#where-btn")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="where-blocks"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#overlay-svg circle[data-holds="true"]').length > 0`),
	)
	screenshot(t, bctx, "overlay.png")
	t.Logf("browser scenario took %v", time.Since(start).Round(time.Millisecond))
}

// step runs one part of the scenario, each action bounded by stepTimeout,
// failing the test with the step's name and the action's number.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for i, a := range actions {
		actx, cancel := context.WithTimeout(ctx, stepTimeout)
		err := chromedp.Do(actx, a)
		cancel()
		if err != nil {
			screenshot(t, ctx, "failed.png")
			t.Fatalf("%s, action %d: %v", name, i+1, err)
		}
	}
}

// stepTimeout bounds one action of the scenario, well inside the test's
// own deadline so that a stuck one is named.
const stepTimeout = 20 * time.Second

// screenshot keeps a full-page PNG in the test's artifact directory.
// (FullScreenshot writes PNG only at quality 100; below, JPEG.)
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", p)
}

func writeFile(t *testing.T, p string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// download GETs what the page's link points at, with its version.
func download(t *testing.T, ctx context.Context, url string) ([]byte, int) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	v, _ := strconv.Atoi(resp.Header.Get("X-Puddle-Version"))
	return body, v
}
