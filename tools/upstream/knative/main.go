// Command knative answers the differential checks of test/upstream/ with Knative's own code.
// Usage: knative <check>; it reads one JSON case per line on stdin and writes one JSON answer
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
)

// A check turns one raw JSON case into an answer (marshalled as JSON).
type check func(raw json.RawMessage) (any, error)

var checks = map[string]check{}

func register(name string, c check) { checks[name] = c }

func main() {
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(os.Args) != 2 || checks[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, "usage: knative <%s> < cases.jsonl\n", strings.Join(names, "|"))
		os.Exit(2)
	}
	run := checks[os.Args[1]]
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		line := in.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			fmt.Fprintf(os.Stderr, "knative: malformed case: %v\n", err)
			os.Exit(1)
		}
		answer, err := run(json.RawMessage(append([]byte(nil), line...)))
		if err != nil {
			answer = map[string]any{"id": head.ID, "error": err.Error()}
		}
		if err := enc.Encode(answer); err != nil {
			fmt.Fprintf(os.Stderr, "knative: %v\n", err)
			os.Exit(1)
		}
		out.Flush()
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "knative: reading stdin: %v\n", err)
		os.Exit(1)
	}
}
