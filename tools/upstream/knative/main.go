// Command knative answers the differential checks of test/upstream/ with Knative's own code.
// Usage: knative <check>; it speaks the JSON-lines protocol of ../jsonlines.
package main

import (
	"os"

	"big-data-pipeline/tools/upstream/jsonlines"
)

var checks = map[string]jsonlines.Check{}

func register(name string, c jsonlines.Check) { checks[name] = c }

func main() {
	_, run := jsonlines.Choose("knative", checks, os.Args[1:])
	out := jsonlines.NewWriter(os.Stdout)
	err := jsonlines.Read(os.Stdin, func(c jsonlines.Case) error {
		answer, err := run(c.Line)
		return out.Write(jsonlines.Answer(c.ID, answer, err))
	})
	if err != nil {
		jsonlines.Fail("knative", err)
	}
}
