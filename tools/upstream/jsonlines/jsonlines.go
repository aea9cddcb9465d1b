// Package jsonlines is the protocol of the check commands of test/upstream/: one JSON case per
// line on stdin, one JSON answer per line on stdout, in the same order, each carrying the
// case's "id". A case the upstream code rejects gets {"id": …, "error": "…"}; a command fails
// only on malformed input.
package jsonlines

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Check turns one raw JSON case into an answer (marshalled as JSON).
type Check func(raw json.RawMessage) (any, error)

// Choose returns the check that args (the command line after the command's name) names, or
// prints the usage of command and exits 2.
func Choose(command string, checks map[string]Check, args []string) (string, Check) {
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) != 1 || checks[args[0]] == nil {
		fmt.Fprintf(os.Stderr, "usage: %s <%s> < cases.jsonl\n", command, strings.Join(names, "|"))
		os.Exit(2)
	}
	return args[0], checks[args[0]]
}

// Case is one line of input: the case's id and the whole line.
type Case struct {
	ID   string
	Line json.RawMessage
}

// Read calls each with every case of r, in order, skipping blank lines. It stops at the first
// error: a malformed line, an error of r, or one each returns.
func Read(r io.Reader, each func(Case) error) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for in.Scan() {
		line := in.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return fmt.Errorf("malformed case: %w", err)
		}
		if err := each(Case{ID: head.ID, Line: append(json.RawMessage(nil), line...)}); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return nil
}

// Answer is what a case gets: the check's answer, or {"id", "error"} when the upstream code
// rejected the case.
func Answer(id string, answer any, err error) any {
	if err != nil {
		return map[string]any{"id": id, "error": err.Error()}
	}
	return answer
}

// Writer writes one answer a line, each flushed at once, so a reader sees answers as they come.
type Writer struct {
	out *bufio.Writer
	enc *json.Encoder
}

func NewWriter(w io.Writer) *Writer {
	out := bufio.NewWriter(w)
	return &Writer{out: out, enc: json.NewEncoder(out)}
}

func (w *Writer) Write(answer any) error {
	if err := w.enc.Encode(answer); err != nil {
		return err
	}
	return w.out.Flush()
}

// Fail prints "command: err" on stderr and exits 1: what a command does on malformed input.
func Fail(command string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", command, err)
	os.Exit(1)
}
