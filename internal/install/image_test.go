package install

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The image cannot be built here (no container engine), so these tests hold
// the Dockerfile to what can be checked: its go build, run exactly as
// written, gives a static binary that behaves as ENTRYPOINT and CMD use it,
// from a build context that holds every file the build reads.

const repoRoot = "../.."

// instruction is one Dockerfile line, continuations joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// stage returns the instructions of the build stage named name ("" for
// the last stage) and its FROM image.
func stage(t *testing.T, all []instruction, name string) (string, []instruction) {
	t.Helper()
	var from string
	var in []instruction
	found := false
	for _, ins := range all {
		if ins.cmd == "FROM" {
			if found && name != "" {
				break
			}
			fields := strings.Fields(ins.args)
			fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--platform=") })
			from, in = fields[0], nil
			found = name == "" || (len(fields) == 3 && strings.EqualFold(fields[1], "AS") && fields[2] == name)
			continue
		}
		in = append(in, ins)
	}
	if !found {
		t.Fatalf("no stage %q in the Dockerfile", name)
	}
	return from, in
}

// buildCommand is the go build of the build stage: its environment (ENV
// and the assignments before the command) and its arguments, with the ARGs
// replaced by vars.
func buildCommand(t *testing.T, steps []instruction, vars map[string]string) (env, args []string) {
	t.Helper()
	for _, s := range steps {
		switch s.cmd {
		case "ARG":
			name, def, _ := strings.Cut(s.args, "=")
			if _, ok := vars[name]; !ok {
				vars[name] = def
			}
		case "ENV":
			words := shellWords(t, s.args, vars)
			env = append(env, words...)
		case "RUN":
			words := shellWords(t, s.args, vars)
			for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
				words = words[1:]
			}
			i := slices.Index(words, "go")
			if i < 0 || len(words) < i+2 || words[i+1] != "build" {
				continue
			}
			for _, w := range words[:i] {
				if !strings.Contains(w, "=") {
					t.Fatalf("RUN %s: want only VAR=value before go build", s.args)
				}
			}
			return append(env, words[:i]...), words[i+1:]
		}
	}
	t.Fatal("no RUN go build in the build stage")
	return nil, nil
}

// shellWords splits a command as sh would, for the subset a Dockerfile go
// build uses: quotes, backslashes and $VAR or ${VAR}. Unknown variables,
// command lists and pipes fail the test rather than being misread.
func shellWords(t *testing.T, s string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'' && r != '\'':
			w.WriteRune(r)
		case r == '\'' || r == '"':
			inWord = true
			if quote == r {
				quote = 0
			} else if quote == 0 {
				quote = r
			} else {
				w.WriteRune(r)
			}
		case r == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case r == '$':
			name, n := varName(rs[i+1:])
			v, ok := vars[name]
			if !ok {
				t.Fatalf("Dockerfile uses $%s, which is no ARG", name)
			}
			w.WriteString(v)
			i += n
			inWord = true
		case quote == 0 && (r == ' ' || r == '\t'):
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case quote == 0 && strings.ContainsRune(";&|<>`", r):
			t.Fatalf("Dockerfile command %q: keep the go build a single command", s)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

var varRE = regexp.MustCompile(`^(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

func varName(rs []rune) (string, int) {
	m := varRE.FindStringSubmatch(string(rs))
	if m == nil {
		return "", 0
	}
	return m[1] + m[2], len([]rune(m[0]))
}

func TestDockerfile(t *testing.T) {
	all := readDockerfile(t)
	builder, _ := stage(t, all, "build")
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	pin := regexp.MustCompile(`GOTOOLCHAIN := go(\S+)`).FindSubmatch(makefile)
	if pin == nil || builder != "golang:"+string(pin[1]) {
		t.Errorf("builder image %s does not match the Makefile's toolchain %s", builder, pin)
	}
	final, steps := stage(t, all, "")
	if final != "gcr.io/distroless/static:nonroot" {
		t.Errorf("final image %s, want gcr.io/distroless/static:nonroot", final)
	}
	want := map[string]string{
		"USER":       fmt.Sprintf("%d:%d", UID, UID), // the Deployment's runAsUser
		"ENTRYPOINT": `["/envop"]`,
		"CMD":        `["serve"]`,
		"EXPOSE":     strconv.Itoa(Port),
	}
	for _, s := range steps {
		if w, ok := want[s.cmd]; ok {
			if s.args != w {
				t.Errorf("%s %s, want %s", s.cmd, s.args, w)
			}
			delete(want, s.cmd)
		}
	}
	for cmd := range want {
		t.Errorf("final stage lacks %s", cmd)
	}
}

// TestImageBinary builds the binary as the Dockerfile does and runs it as
// the image would: `/envop serve` with the image's environment only.
func TestImageBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary with the image's flags")
	}
	_, steps := stage(t, readDockerfile(t), "build")
	const ver, commit = "v0.0.0-imagetest", "0123abc"
	env, args := buildCommand(t, steps, map[string]string{"VERSION": ver, "COMMIT": commit})
	out := filepath.Join(t.TempDir(), "envop")
	if i := slices.Index(args, "-o"); i < 0 || i+1 >= len(args) {
		t.Fatalf("go build %v: no -o", args)
	} else {
		args[i+1] = out
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local"} {
		if !slices.Contains(env, want) {
			t.Errorf("build environment %v lacks %s", env, want)
		}
	}
	if !slices.Contains(args, "-trimpath") {
		t.Errorf("go build %v: no -trimpath", args)
	}
	build := exec.CommandContext(t.Context(), goBinary(t), args...)
	build.Dir = repoRoot
	build.Env = append(os.Environ(), env...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	checkStatic(t, out)

	// The distroless image's environment, and nothing of ours.
	imageEnv := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/nonroot", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	stdout, _, code := runBinary(t, imageEnv, out, "version", "-o", "json")
	var info struct{ Version, Commit string }
	if err := json.Unmarshal([]byte(stdout), &info); code != 0 || err != nil || info.Version != ver || info.Commit != commit {
		t.Errorf("envop version: exit %d, %q (want version %s commit %s)", code, stdout, ver, commit)
	}
	_, stderr, code := runBinary(t, imageEnv, out, "serve")
	if code != 2 || !strings.Contains(stderr, "missing --namespace (NAMESPACE), --environment (ENVIRONMENT_NAME), --git-repo (GIT_REMOTE_REPOSITORY)") {
		t.Errorf("envop serve without settings: exit %d, stderr %q", code, stderr)
	}
}

// goBinary is the go command of the toolchain running the tests: what the
// builder image's GOTOOLCHAIN=local means.
func goBinary(t *testing.T) string {
	t.Helper()
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(root)), "bin", "go")
}

// checkStatic fails unless the ELF file needs no dynamic loader.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %s program header: not static", path, p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("%s has a .dynamic section: not static", path)
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs %v", path, libs)
	}
}

func runBinary(t *testing.T, env []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = env, t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not exit within 30s", bin, args)
	}
	if exit, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// TestDockerBuildContext checks that the files the build reads are copied
// into the build stage and not excluded by .dockerignore.
func TestDockerBuildContext(t *testing.T) {
	_, steps := stage(t, readDockerfile(t), "build")
	var copied []string
	for _, s := range steps {
		if s.cmd == "COPY" && !strings.HasPrefix(s.args, "--from") {
			f := strings.Fields(s.args)
			for _, src := range f[:len(f)-1] {
				copied = append(copied, strings.TrimSuffix(src, "/"))
			}
		}
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range copied {
		if !slices.Contains(strings.Split(string(ignore), "\n"), "!"+c) {
			t.Errorf(".dockerignore does not re-include %s, which the Dockerfile copies", c)
		}
	}
	list := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`, "./cmd/envop")
	list.Dir = repoRoot
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, _ := filepath.Abs(repoRoot)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rel, _ := filepath.Rel(root, fields[0])
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if !slices.Contains(copied, top) {
			t.Errorf("the binary builds %s, which the Dockerfile does not copy", rel)
		}
		for _, f := range fields[1:] {
			if strings.Contains(f, "testdata") || strings.HasSuffix(f, "_test.go") {
				t.Errorf("%s embeds %s, which .dockerignore excludes", rel, f)
			}
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !slices.Contains(copied, f) {
			t.Errorf("the Dockerfile does not copy %s", f)
		}
	}
}
