// Command hpa answers the HPA differential checks of test/upstream/ with the Kubernetes HPA
// controller itself (k8s.io/kubernetes/pkg/controller/podautoscaler at the version go.mod pins).
// Usage: hpa [hpa] < cases.jsonl; it reads one JSON case per line on stdin and writes one JSON
// answer per line on stdout, in the same order, each carrying the case's "id". A case the
// upstream code rejects gets {"id": …, "error": "…"}; the command itself fails (exit 1) only on
// malformed input. The case format and how it is driven are described in hpa.go.
//
// The controller reads the wall clock (time.Now in horizontal.go), so every case runs in a
// testing/synctest bubble, whose fake clock only moves when every goroutine in it is blocked.
// synctest.Test needs a *testing.T, which only the testing package can make: main therefore
// hands over to testing.Main (kept by the testing package for programs that run tests
// themselves), with one test that serves stdin; that is why it prints PASS on stderr at the end.
// A case that deadlocks the bubble or panics in a controller goroutine aborts the whole run.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// answers is the real stdout; os.Stdout is pointed at stderr so that what the testing
// package prints (PASS, FAIL, test logs) never mixes with the answers.
var answers = os.Stdout

func main() {
	if len(os.Args) > 2 || (len(os.Args) == 2 && os.Args[1] != "hpa") {
		fmt.Fprintln(os.Stderr, "usage: hpa [hpa] < cases.jsonl")
		os.Exit(2)
	}
	os.Args = os.Args[:1] // testing.Main parses the command line as its own flags
	os.Stdout = os.Stderr
	testing.Main(regexp.MatchString, []testing.InternalTest{{Name: "HPA", F: serve}}, nil, nil)
}

func serve(t *testing.T) {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := bufio.NewWriter(answers)
	enc := json.NewEncoder(out)
	fail := func(format string, args ...any) {
		out.Flush()
		fmt.Fprintf(os.Stderr, "hpa: "+format+"\n", args...)
		os.Exit(1)
	}
	for in.Scan() {
		line := in.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			fail("malformed case: %v", err)
		}
		answer, err := simulate(t, line)
		if err != nil {
			answer = map[string]any{"id": head.ID, "error": err.Error()}
		}
		if err := enc.Encode(answer); err != nil {
			fail("%v", err)
		}
		out.Flush()
	}
	if err := in.Err(); err != nil {
		fail("reading stdin: %v", err)
	}
}
