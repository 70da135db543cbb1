package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/meta"
)

func shellCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "An interactive shell on the cluster's file system (ls, cd, put, get, ...)",
		Long: `shell reads commands on the file system from stdin, one a line: ls, cd, pwd,
mkdir, cat, put, get, rm, mv, history, stat, restore ("help" lists them).
Remote paths are relative to the working directory ("cd", "pwd"); local
paths to the directory puddle runs in. Quote names with spaces ("a b" or
'a b'). On a terminal, lines can be edited and arrows recall earlier ones;
Ctrl-C stops a running command, and Ctrl-D (or "exit") leaves. A failed
command prints one line and the shell goes on: its exit status is 0
unless reading stdin fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			timeout, _ := cmd.Flags().GetDuration("timeout")
			// withFS's context would bound the whole session by --timeout;
			// each command gets its own from cmd's context instead.
			return withFS(cmd, func(_ context.Context, c *client.Client) error {
				out := &shellWriter{w: cmd.OutOrStdout()}
				s := &shell{ctx: cmd.Context(), c: c, out: out, timeout: timeout, cwd: "/", prev: "/"}
				if in := newTermInput(cmd.InOrStdin(), cmd.OutOrStdout()); in != nil {
					intr := make(chan os.Signal, 1)
					signal.Notify(intr, os.Interrupt)
					defer signal.Stop(intr)
					s.intr = intr
					return s.run(in)
				}
				return s.run(newScanInput(cmd.InOrStdin(), out))
			})
		},
	}
	fsFlags(cmd)
	cmd.PersistentFlags().Lookup("timeout").Usage = "give up on each command after this long (0: never)"
	return cmd
}

// shell is one session: a client, a working directory and the commands'
// output. The loop runs in one goroutine; nothing here is shared.
type shell struct {
	ctx     context.Context // the session's; each command derives its own
	c       *client.Client
	out     *shellWriter
	timeout time.Duration    // per command; 0: none
	intr    <-chan os.Signal // interrupts a running command; nil off a terminal
	cwd     string           // the working directory, clean and absolute
	prev    string           // the one before the last cd, for "cd -"
}

// shellInput reads one command line, showing prompt first.
type shellInput interface {
	readLine(prompt string) (string, error)
}

// run reads and runs commands until exit or the end of the input. It
// fails only when reading the input does.
func (s *shell) run(in shellInput) error {
	for {
		s.out.endLine()
		line, err := in.readLine("puddle:" + s.cwd + "> ")
		if err != nil {
			fmt.Fprintln(s.out.w) // end the prompt's line
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("shell: read: %w", err)
		}
		if s.exec(line) {
			return nil
		}
	}
}

// exec runs one command line, printing its output or its error, and
// reports whether it asked to leave.
func (s *shell) exec(line string) (exit bool) {
	args, err := shellSplit(line)
	if err != nil {
		fmt.Fprintf(s.out, "shell: %v\n", err)
		return false
	}
	if len(args) == 0 {
		return false
	}
	name := args[0]
	switch name {
	case "exit", "quit":
		return true
	case "help":
		s.help(args[1:])
		return false
	}
	sc := shellLookup(name)
	if sc == nil {
		fmt.Fprintf(s.out, "%s: unknown command (try help)\n", shellQuote(name))
		return false
	}
	flags, args, err := shellFlagsOf(sc.flags, args[1:])
	if err == nil && (len(args) < sc.min || sc.max >= 0 && len(args) > sc.max) {
		err = errors.New("wrong number of arguments")
	}
	if err != nil {
		fmt.Fprintf(s.out, "%s: %v (usage: %s)\n", name, err, sc.usage)
		return false
	}
	ctx, cancel := s.commandContext()
	defer cancel()
	if err := sc.run(s, ctx, flags, args); err != nil {
		fmt.Fprintln(s.out, shellError(name, err, s.timeout))
	}
	return false
}

// commandContext bounds one command by the timeout and, on a terminal,
// by Ctrl-C.
func (s *shell) commandContext() (context.Context, context.CancelFunc) {
	ctx, cancel := s.ctx, context.CancelFunc(func() {})
	if s.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
	}
	if s.intr == nil {
		return ctx, cancel
	}
	select {
	case <-s.intr: // one that came while the prompt was up
	default:
	}
	ctx, cancelIntr := context.WithCancel(ctx)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-s.intr:
			cancelIntr()
		case <-stop:
		}
	}()
	// Wait for the watcher to go, so that it can't take the next
	// command's Ctrl-C.
	return ctx, func() { close(stop); <-stopped; cancelIntr(); cancel() }
}

// shellError renders a command's error as one line: "rm /d: directory
// not empty".
func shellError(name string, err error, timeout time.Duration) string {
	var me *meta.Error
	switch {
	case errors.As(err, &me) && me.Kind.Err() != nil:
		s := name
		if me.Path != "" {
			s += " " + shellQuote(me.Path)
		}
		s += ": " + strings.TrimPrefix(me.Kind.Err().Error(), "meta: ")
		if me.Msg != "" {
			s += ": " + me.Msg
		}
		return s
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s: timed out after %v", name, timeout)
	case errors.Is(err, context.Canceled):
		return name + ": interrupted"
	}
	return name + ": " + err.Error()
}

// shellQuote quotes p when it holds what a terminal would not show as
// itself.
func shellQuote(p string) string {
	if strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(p)
	}
	return p
}

// resolve makes p, relative to the working directory, absolute and clean.
func (s *shell) resolve(p string) (string, error) { return shellResolve(s.cwd, p) }

// shellResolve resolves p against cwd as path.Join does, ".." included,
// and checks the result as the file system does.
func shellResolve(cwd, p string) (string, error) {
	if p == "" {
		return "", &meta.Error{Kind: meta.KindInvalid, Msg: "empty path"}
	}
	if !strings.HasPrefix(p, "/") {
		p = cwd + "/" + p
	}
	return meta.CleanPath(path.Clean(p))
}

// shellSplit splits a command line into words as a shell does, simply:
// blanks separate words, '...' quotes literally, "..." quotes with \" and
// \\ escapes, a backslash outside quotes escapes the next character, and
// # at the start of a word begins a comment.
func shellSplit(line string) ([]string, error) {
	var (
		args   []string
		word   strings.Builder
		inWord bool
	)
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ', '\t', '\r', '\n':
			if inWord {
				args, inWord = append(args, word.String()), false
				word.Reset()
			}
		case '#':
			if !inWord {
				return args, nil
			}
			word.WriteByte(c)
		case '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			word.WriteString(line[i+1 : i+1+j])
			i, inWord = i+1+j, true
		case '"':
			inWord = true
			for i++; ; i++ {
				if i == len(line) {
					return nil, errors.New(`unterminated " quote`)
				}
				if line[i] == '"' {
					break
				}
				if line[i] == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
					i++
				}
				word.WriteByte(line[i])
			}
		case '\\':
			if i+1 < len(line) {
				i++
			}
			word.WriteByte(line[i])
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, word.String())
	}
	return args, nil
}

// shellFlags holds the one-letter flags given to a command.
type shellFlags string

func (f shellFlags) has(c byte) bool { return strings.IndexByte(string(f), c) >= 0 }

// shellFlagsOf takes the leading flags ("-l", "-rp") off args, as POSIX
// utilities do: they end at the first other word or at "--".
func shellFlagsOf(allowed string, args []string) (shellFlags, []string, error) {
	var got []byte
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		for i := 1; i < len(a); i++ {
			if strings.IndexByte(allowed, a[i]) < 0 {
				return "", nil, fmt.Errorf("unknown flag -%c", a[i])
			}
			got = append(got, a[i])
		}
	}
	return shellFlags(got), args, nil
}

// shellWriter remembers whether its output ended mid-line, so that the
// next prompt starts on a line of its own (after cat of a file with no
// final newline).
type shellWriter struct {
	w   io.Writer
	mid bool // the last byte written was not a newline
}

func (w *shellWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if n > 0 {
		w.mid = b[n-1] != '\n'
	}
	return n, err
}

func (w *shellWriter) endLine() {
	if w.mid {
		w.Write([]byte("\n"))
	}
}

// scanInput reads lines from a script or a pipe, with a plain prompt.
type scanInput struct {
	sc *bufio.Scanner
	w  io.Writer
}

func newScanInput(r io.Reader, w *shellWriter) *scanInput {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	return &scanInput{sc: sc, w: w.w} // the prompt leaves w at a line's start
}

func (in *scanInput) readLine(prompt string) (string, error) {
	fmt.Fprint(in.w, prompt)
	if in.sc.Scan() {
		return in.sc.Text(), nil
	}
	if err := in.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// termInput reads lines from a terminal with line editing and history.
// The terminal is raw only while a line is read, so that a running
// command's Ctrl-C is a signal.
type termInput struct {
	fd int
	t  *term.Terminal
}

// newTermInput returns a termInput when in and out are both a terminal,
// else nil.
func newTermInput(in io.Reader, out io.Writer) *termInput {
	fi, ok := in.(*os.File)
	fo, ok2 := out.(*os.File)
	if !ok || !ok2 || !term.IsTerminal(int(fi.Fd())) || !term.IsTerminal(int(fo.Fd())) {
		return nil
	}
	rw := struct {
		io.Reader
		io.Writer
	}{fi, fo}
	return &termInput{fd: int(fi.Fd()), t: term.NewTerminal(rw, "")}
}

func (in *termInput) readLine(prompt string) (string, error) {
	old, err := term.MakeRaw(in.fd)
	if err != nil {
		return "", err
	}
	defer term.Restore(in.fd, old)
	if w, h, err := term.GetSize(in.fd); err == nil {
		in.t.SetSize(w, h)
	}
	in.t.SetPrompt(prompt)
	line, err := in.t.ReadLine() // Ctrl-C and Ctrl-D (on an empty line) are io.EOF
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil
	}
	return line, err
}

// localPath expands a leading ~ to the home directory.
func localPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// shellCommand is one of the shell's commands.
type shellCommand struct {
	name, usage, short string
	flags              string // the one-letter flags it takes
	min, max           int    // how many arguments; max < 0: any number
	run                func(s *shell, ctx context.Context, f shellFlags, args []string) error
}

// shellCommands are the shell's commands but help and exit, which exec
// runs itself; help lists them in this order.
var shellCommands = []shellCommand{
	{"ls", "ls [-l] [PATH]", "list a directory (default the working one); -l for details", "l", 0, 1, (*shell).ls},
	{"cd", "cd [PATH]", `change the working directory (default /; "-" the previous one)`, "", 0, 1, (*shell).cd},
	{"pwd", "pwd", "print the working directory", "", 0, 0, (*shell).pwd},
	{"mkdir", "mkdir [-p] PATH...", "make directories; -p makes parents, and an existing one is fine", "p", 1, -1, (*shell).mkdir},
	{"cat", "cat PATH...", "print files", "", 1, -1, (*shell).cat},
	{"put", "put LOCAL [REMOTE]", "store a local file (into the working directory by default)", "", 1, 2, (*shell).put},
	{"get", "get REMOTE [LOCAL]", "copy a file to LOCAL (default here, under its own name)", "", 1, 2, (*shell).get},
	{"rm", "rm [-r] PATH...", "remove files and empty directories; -r directories and all in them", "r", 1, -1, (*shell).rm},
	{"mv", "mv FROM TO", "move a file or directory, with its history (into TO if a directory)", "", 2, 2, (*shell).mv},
	{"history", "history PATH", "list every version of a file", "", 1, 1, (*shell).history},
	{"stat", "stat PATH", "describe a file or directory", "", 1, 1, (*shell).stat},
	{"restore", "restore PATH VERSION", "make an earlier version current again, as a new version", "", 2, 2, (*shell).restore},
}

func shellLookup(name string) *shellCommand {
	for i := range shellCommands {
		if shellCommands[i].name == name {
			return &shellCommands[i]
		}
	}
	return nil
}

func (s *shell) help(args []string) {
	w := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	for _, sc := range shellCommands {
		if len(args) == 0 || sc.name == args[0] {
			fmt.Fprintf(w, "%s\t%s\n", sc.usage, sc.short)
		}
	}
	if len(args) == 0 {
		fmt.Fprintf(w, "help [COMMAND]\tthis list\n")
		fmt.Fprintf(w, "exit\tleave (also quit, or Ctrl-D)\n")
	} else if shellLookup(args[0]) == nil {
		fmt.Fprintf(w, "%s: unknown command\n", args[0])
	}
	w.Flush()
}

func (s *shell) ls(ctx context.Context, f shellFlags, args []string) error {
	p := s.cwd
	if len(args) == 1 {
		var err error
		if p, err = s.resolve(args[0]); err != nil {
			return err
		}
	}
	info, err := s.c.Stat(ctx, p)
	if err != nil {
		return err
	}
	ents := []meta.Info{info}
	if info.Dir {
		if ents, err = s.c.ReadDir(ctx, p); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	for _, e := range ents {
		name := e.Name
		if e.Dir {
			name += "/"
		}
		if !f.has('l') {
			fmt.Fprintln(w, name)
			continue
		}
		kind, version := "-", fmt.Sprintf("v%d", e.Version.Number)
		if e.Dir {
			kind, version = "d", ""
		}
		fmt.Fprintf(w, "%s%s\t%s\t%d\t%s\t%s\t%s\n", kind, modeString(e.Mode), e.Owner, e.Size, version,
			time.Unix(0, e.MTime).Format("2006-01-02 15:04:05"), name)
	}
	return w.Flush()
}

func (s *shell) cd(ctx context.Context, _ shellFlags, args []string) error {
	p := "/"
	if len(args) == 1 && args[0] == "-" {
		p = s.prev
	} else if len(args) == 1 {
		var err error
		if p, err = s.resolve(args[0]); err != nil {
			return err
		}
	}
	info, err := s.c.Stat(ctx, p)
	if err != nil {
		return err
	}
	if !info.Dir {
		return &meta.Error{Kind: meta.KindNotDir, Path: p}
	}
	s.prev, s.cwd = s.cwd, p
	return nil
}

func (s *shell) pwd(context.Context, shellFlags, []string) error {
	_, err := fmt.Fprintln(s.out, s.cwd)
	return err
}

// each runs op on each argument, resolved, stopping at the first error.
func (s *shell) each(args []string, op func(p string) error) error {
	for _, a := range args {
		p, err := s.resolve(a)
		if err != nil {
			return err
		}
		if err := op(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *shell) mkdir(ctx context.Context, f shellFlags, args []string) error {
	return s.each(args, func(p string) error {
		if f.has('p') {
			return s.c.MkdirAll(ctx, p)
		}
		return s.c.Mkdir(ctx, p)
	})
}

func (s *shell) rm(ctx context.Context, f shellFlags, args []string) error {
	return s.each(args, func(p string) error {
		if f.has('r') {
			return s.c.RemoveAll(ctx, p)
		}
		return s.c.Remove(ctx, p)
	})
}

func (s *shell) cat(ctx context.Context, _ shellFlags, args []string) error {
	return s.each(args, func(p string) error { return s.copyOut(ctx, p) })
}

// copyOut writes the current version of the file at p to the output.
func (s *shell) copyOut(ctx context.Context, p string) error {
	f, err := s.c.OpenVersion(ctx, p, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(s.out, f)
	return err
}

func (s *shell) put(ctx context.Context, _ shellFlags, args []string) error {
	local := localPath(args[0])
	if local == "-" {
		return fmt.Errorf("%w: the shell's stdin holds its commands; put a file", errUsage)
	}
	remote := s.cwd + "/" // into the working directory
	if len(args) == 2 {
		r, err := s.resolve(args[1])
		if err != nil {
			return err
		}
		if strings.HasSuffix(args[1], "/") && r != "/" {
			r += "/" // putTarget's "into this directory"
		}
		remote = r
	}
	dest, err := putTarget(ctx, s.c, local, remote)
	if err != nil {
		return err
	}
	return putFile(ctx, s.c, local, dest, s.out)
}

func (s *shell) get(ctx context.Context, _ shellFlags, args []string) error {
	src, err := s.resolve(args[0])
	if err != nil {
		return err
	}
	dest := path.Base(src)
	if len(args) == 2 {
		dest = localPath(args[1])
	}
	if dest == "-" {
		return s.copyOut(ctx, src)
	}
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		dest = filepath.Join(dest, path.Base(src))
	}
	if err := getFile(ctx, s.c, src, 0, dest); err != nil {
		return err
	}
	st, err := os.Stat(dest)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.out, "%s: %s to %s\n", src, humanBytes(st.Size()), dest)
	return err
}

func (s *shell) mv(ctx context.Context, _ shellFlags, args []string) error {
	from, err := s.resolve(args[0])
	if err != nil {
		return err
	}
	to, err := s.resolve(args[1])
	if err != nil {
		return err
	}
	if info, err := s.c.Stat(ctx, to); err == nil && info.Dir && from != "/" {
		to = path.Join(to, path.Base(from))
	}
	return s.c.Rename(ctx, from, to)
}

func (s *shell) history(ctx context.Context, _ shellFlags, args []string) error {
	p, err := s.resolve(args[0])
	if err != nil {
		return err
	}
	vs, err := s.c.History(ctx, p)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tTIME\tSIZE\tWRITER\tMANIFEST")
	for _, v := range vs {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%.16s\n", v.Number, stamp(v.Time), v.Size, v.Writer, v.Ref.String())
	}
	return w.Flush()
}

func (s *shell) stat(ctx context.Context, _ shellFlags, args []string) error {
	p, err := s.resolve(args[0])
	if err != nil {
		return err
	}
	info, err := s.c.Stat(ctx, p)
	if err != nil {
		return err
	}
	kind := "file"
	if info.Dir {
		kind = "directory"
	}
	fmt.Fprintf(s.out, "path:     %s\ntype:     %s\nsize:     %d (%s)\nmode:     %s\nowner:    %s\n", p, kind, info.Size, humanBytes(int64(info.Size)), modeString(info.Mode), info.Owner)
	fmt.Fprintf(s.out, "created:  %s\nmodified: %s\n", stamp(info.CTime), stamp(info.MTime))
	if !info.Dir {
		fmt.Fprintf(s.out, "version:  %d of %d, manifest %s\n", info.Version.Number, info.Versions, info.Version.Ref)
	}
	return nil
}

func (s *shell) restore(ctx context.Context, _ shellFlags, args []string) error {
	n, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("%w: VERSION must be a version number (see history), not %q", errUsage, args[1])
	}
	p, err := s.resolve(args[0])
	if err != nil {
		return err
	}
	v, err := s.c.Restore(ctx, p, n)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.out, "%s: version %d restored as version %d\n", p, n, v.Number)
	return err
}
