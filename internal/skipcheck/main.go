// Command skipcheck reads `go test -json` on stdin, prints what plain
// `go test` would (package results and the output of failed tests), then
// lists every test the run skipped with its message. In CI (CI=true) a
// skipped test that is not on the allow-list below fails the run: a test
// that did not run proved nothing, and internal/need already makes a
// missing tool, data set or server a failure there, so a skip in CI is a
// test that found some other way not to run.
//
//	go test -json ./... | go run ./internal/skipcheck
//	go test -json ./e2e/ | go run ./internal/skipcheck -tee | go run ./internal/conformancegen
//
// With -tee the JSON stream is copied to stdout and the report goes to
// stderr. It exits 1 if a test or package failed, or (in CI) on a skip not
// allowed.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// allowed is every skip a CI run may have, each with the reason it proves
// nothing is missing. Keep it short: a new entry needs a reason a reviewer
// accepts, not "it skips".
var allowed = []struct {
	pkg  string         // import path suffix
	test *regexp.Regexp // whole test name, subtests included
	why  string
}{
	// -short trims the slow e2e tests on purpose; make test and .ci/run
	// never pass -short, so these appear only in `make test-short`.
	{"/e2e", regexp.MustCompile(`^(TestStoreMigrateBothWays|TestCrashSafety|TestRALoad|TestTwoInstancesOnPostgres)$`), "skipped only under -short"},
}

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type skip struct {
	pkg, test, msg string
}

func main() {
	tee := flag.Bool("tee", false, "copy the JSON stream to stdout; write the report to stderr")
	flag.Parse()
	report := io.Writer(os.Stdout)
	var copyTo io.Writer
	if *tee {
		report, copyTo = os.Stderr, os.Stdout
	}
	skips, failed, err := scan(os.Stdin, report, copyTo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "skipcheck:", err)
		os.Exit(2)
	}
	bad := judge(skips, report, os.Getenv("CI") == "true")
	if failed || bad > 0 {
		os.Exit(1)
	}
}

// scan reads the stream, echoing to report what go test would print, and
// returns the skipped tests and whether anything failed.
func scan(r io.Reader, report, copyTo io.Writer) (skips []skip, failed bool, err error) {
	type key struct{ pkg, test string }
	buf := map[key]*strings.Builder{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	saw := false
	for sc.Scan() {
		line := sc.Bytes()
		if copyTo != nil {
			copyTo.Write(append(line, '\n'))
		}
		var e event
		if json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(report, "%s\n", line) // not JSON: a build error or a panic
			continue
		}
		saw = true
		k := key{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(report, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "":
			if e.Action == "output" && e.Output != "PASS\n" {
				fmt.Fprint(report, e.Output)
			}
			if e.Action == "fail" {
				failed = true
			}
		case e.Action == "output":
			b := buf[k]
			if b == nil {
				b = &strings.Builder{}
				buf[k] = b
			}
			b.WriteString(e.Output)
		case e.Action == "fail":
			failed = true
			if b := buf[k]; b != nil {
				fmt.Fprint(report, b.String())
			}
			delete(buf, k)
		case e.Action == "skip":
			msg := ""
			if b := buf[k]; b != nil {
				msg = message(b.String())
			}
			skips = append(skips, skip{e.Package, e.Test, msg})
			delete(buf, k)
		case e.Action == "pass":
			delete(buf, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, false, err
	}
	if !saw {
		return nil, false, fmt.Errorf("no go test -json events on stdin")
	}
	return skips, failed, nil
}

// message is a skipped test's own words, without go test's framing.
func message(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		lines = append(lines, t)
	}
	return strings.Join(lines, " / ")
}

// judge lists the skips and returns how many are not allowed (counted
// only when strict).
func judge(skips []skip, w io.Writer, strict bool) int {
	if len(skips) == 0 {
		fmt.Fprintln(w, "skipcheck: no test skipped")
		return 0
	}
	sort.Slice(skips, func(i, j int) bool {
		if skips[i].pkg != skips[j].pkg {
			return skips[i].pkg < skips[j].pkg
		}
		return skips[i].test < skips[j].test
	})
	fmt.Fprintf(w, "skipcheck: %d skipped tests:\n", len(skips))
	bad := 0
	for _, s := range skips {
		mark := "NOT ALLOWED"
		if why, ok := isAllowed(s); ok {
			mark = "allowed: " + why
		} else if strict {
			bad++
		}
		fmt.Fprintf(w, "  %s %s (%s): %s\n", s.pkg, s.test, mark, s.msg)
	}
	if bad > 0 {
		fmt.Fprintf(w, "skipcheck: %d skipped tests are not on the allow-list (internal/skipcheck); in CI every test must run\n", bad)
	} else if !strict {
		fmt.Fprintln(w, "skipcheck: outside CI skips are listed, not failed (CI=true fails those not allowed)")
	}
	return bad
}

func isAllowed(s skip) (string, bool) {
	for _, a := range allowed {
		if strings.HasSuffix(s.pkg, a.pkg) && a.test.MatchString(s.test) {
			return a.why, true
		}
	}
	return "", false
}
