// Command keda answers the differential checks of test/upstream/ with KEDA's own code.
// Usage: keda <check>; it speaks the JSON-lines protocol of ../jsonlines.
package main

import (
	"os"
	"sync"

	"big-data-pipeline/tools/upstream/jsonlines"
	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

var checks = map[string]jsonlines.Check{}

// parallel: the checks whose cases are independent of each other and may run at once.
var parallel = map[string]bool{}

func register(name string, c jsonlines.Check) { checks[name] = c }

// registerParallel registers a check whose cases may run concurrently (each builds and closes
// its own upstream objects); answers still come out in input order.
func registerParallel(name string, c jsonlines.Check) {
	checks[name] = c
	parallel[name] = true
}

func main() {
	name, run := jsonlines.Choose("keda", checks, os.Args[1:])

	// KEDA logs through controller-runtime's logger (pkg/scalers/scaler.go InitializeLogger,
	// pkg/scaling/executor/scale_executor.go); silence it rather than let controller-runtime
	// complain that SetLogger was never called.
	logf.SetLogger(logr.Discard())
	// Answers go to the real stdout; anything upstream code prints (e.g. the fmt.Print of a
	// deprecation notice in pkg/scalers/scalersconfig/typed_config.go) goes to stderr instead.
	stdout := os.Stdout
	os.Stdout = os.Stderr

	var cases []jsonlines.Case
	if err := jsonlines.Read(os.Stdin, func(c jsonlines.Case) error {
		cases = append(cases, c)
		return nil
	}); err != nil {
		jsonlines.Fail("keda", err)
	}

	// Each case waits on the broker far more than it computes: independent cases run 16 at a time.
	workers := 1
	if parallel[name] {
		workers = 16
	}
	answers := make([]any, len(cases))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				answer, err := run(cases[i].Line)
				answers[i] = jsonlines.Answer(cases[i].ID, answer, err)
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()

	out := jsonlines.NewWriter(stdout)
	for _, answer := range answers {
		if err := out.Write(answer); err != nil {
			jsonlines.Fail("keda", err)
		}
	}
}
