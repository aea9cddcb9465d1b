// Command keda answers the differential checks of test/upstream/ with KEDA's own code.
// Usage: keda <check>; it reads one JSON case per line on stdin and writes one JSON answer
// per line on stdout, in the same order, each carrying the case's "id". A case the upstream
// code rejects gets {"id": …, "error": "…"}; the command itself fails only on malformed input.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// A check turns one raw JSON case into an answer (marshalled as JSON).
type check func(raw json.RawMessage) (any, error)

var checks = map[string]check{}

// parallel: the checks whose cases are independent of each other and may run at once.
var parallel = map[string]bool{}

func register(name string, c check) { checks[name] = c }

// registerParallel registers a check whose cases may run concurrently (each builds and closes
// its own upstream objects); answers still come out in input order.
func registerParallel(name string, c check) {
	checks[name] = c
	parallel[name] = true
}

func main() {
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(os.Args) != 2 || checks[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, "usage: keda <%s> < cases.jsonl\n", strings.Join(names, "|"))
		os.Exit(2)
	}
	run := checks[os.Args[1]]

	// KEDA logs through controller-runtime's logger (pkg/scalers/scaler.go InitializeLogger,
	// pkg/scaling/executor/scale_executor.go); silence it rather than let controller-runtime
	// complain that SetLogger was never called.
	logf.SetLogger(logr.Discard())
	// Answers go to the real stdout; anything upstream code prints (e.g. the fmt.Print of a
	// deprecation notice in pkg/scalers/scalersconfig/typed_config.go) goes to stderr instead.
	stdout := os.Stdout
	os.Stdout = os.Stderr

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var lines []json.RawMessage
	var ids []string
	for in.Scan() {
		line := in.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			fmt.Fprintf(os.Stderr, "keda: malformed case: %v\n", err)
			os.Exit(1)
		}
		lines = append(lines, json.RawMessage(append([]byte(nil), line...)))
		ids = append(ids, head.ID)
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "keda: reading stdin: %v\n", err)
		os.Exit(1)
	}

	// Each case waits on the broker far more than it computes: independent cases run 16 at a time.
	workers := 1
	if parallel[os.Args[1]] {
		workers = 16
	}
	answers := make([]any, len(lines))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				answer, err := run(lines[i])
				if err != nil {
					answer = map[string]any{"id": ids[i], "error": err.Error()}
				}
				answers[i] = answer
			}
		}()
	}
	for i := range lines {
		next <- i
	}
	close(next)
	wg.Wait()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for _, answer := range answers {
		if err := enc.Encode(answer); err != nil {
			fmt.Fprintf(os.Stderr, "keda: %v\n", err)
			os.Exit(1)
		}
	}
}
