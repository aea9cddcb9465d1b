// Command hpa answers the HPA differential checks of test/upstream/ with the Kubernetes HPA
// controller itself (k8s.io/kubernetes/pkg/controller/podautoscaler at the version go.mod pins).
// Usage: hpa [hpa] < cases.jsonl; it speaks the JSON-lines protocol of ../jsonlines. The case
// format and how it is driven are described in hpa.go.
//
// The controller reads the wall clock (time.Now in horizontal.go), so every case runs in a
// testing/synctest bubble, whose fake clock only moves when every goroutine in it is blocked.
// synctest.Test needs a *testing.T, which only the testing package can make: main therefore
// hands over to testing.Main (kept by the testing package for programs that run tests
// themselves), with one test that serves stdin; that is why it prints PASS on stderr at the end.
// A case that deadlocks the bubble or panics in a controller goroutine aborts the whole run.
package main

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"big-data-pipeline/tools/upstream/jsonlines"
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
	out := jsonlines.NewWriter(answers)
	err := jsonlines.Read(os.Stdin, func(c jsonlines.Case) error {
		answer, err := simulate(t, c.Line)
		return out.Write(jsonlines.Answer(c.ID, answer, err))
	})
	if err != nil {
		jsonlines.Fail("hpa", err)
	}
}
