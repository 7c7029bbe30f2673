// Command train-toy trains a small GPT whose causal self-attention is learned by
// backpropagation through Gorgonia graphs, and samples from it.
//
//	go run ./cmd/train-toy                      # the copy task: attention learns to copy
//	go run ./cmd/train-toy --task statquest     # the seed course's toy
//	go run ./cmd/train-toy --data FILE --preset nanogpt-cpu
//	go run ./cmd/train-toy sample --from DIR --prompt TEXT
//	go run ./cmd/train-toy eval --from DIR      # loss over the whole validation split
//
// Run with -h for every flag. Mistakes on the command line print one line `error: …` on
// stderr and exit with status 2; Ctrl-C saves a checkpoint and exits with status 130.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/pkg/errors"
)

func main() {
	// A training step allocates almost nothing once its buffers exist, so collecting at
	// 25% heap growth instead of 100% costs no time and keeps the peak resident set near
	// the live heap.
	debug.SetGCPercent(25)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "sample":
		err = sampleCmd(args[1:], stdout)
	case len(args) > 0 && args[0] == "eval":
		err = evalCmd(args[1:], stdout)
	case len(args) > 0 && args[0] == "explain":
		err = explainCmd(args[1:], stdout)
	default:
		err = trainCmd(args, stdout, stderr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errInterrupted):
		return 130
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "error: %s\n", usageMessage(err))
		return 2
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}

// usageMessage drops the "usage" sentinel from a usage error's text.
func usageMessage(err error) string {
	msg := err.Error()
	const suffix = ": usage"
	if len(msg) > len(suffix) && msg[len(msg)-len(suffix):] == suffix {
		return msg[:len(msg)-len(suffix)]
	}
	return msg
}
