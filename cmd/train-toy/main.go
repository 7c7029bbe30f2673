// Command train-toy trains a small GPT whose causal self-attention is learned by
// backpropagation through Gorgonia graphs, and samples from it.
//
//	go run ./cmd/train-toy                      # the copy task: attention learns to copy
//	go run ./cmd/train-toy --task statquest     # the seed course's toy
//	go run ./cmd/train-toy --data FILE --preset nanogpt-cpu
//	go run ./cmd/train-toy sample --from DIR --prompt TEXT
//	go run ./cmd/train-toy eval --from DIR      # loss over the whole validation split
//	go run ./cmd/train-toy explain [--masked]   # the seed's attention walkthrough, step by step
//
// Run with -h for every flag. A mistake on the command line prints `error: …` on stderr
// (and, for a flag that does not parse, one line `run 'train-toy -h' for usage`) and
// exits with status 2; other failures exit with status 1. SIGINT (Ctrl-C) and SIGTERM
// stop every command between two steps, evaluation batches or sampled tokens; training
// saves a checkpoint first. The command then says on stderr what was kept and exits
// with status 130 (SIGINT) or 143 (SIGTERM).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/pkg/errors"
)

// subcommand is `train-toy NAME …`.
type subcommand struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// subcommands lists every subcommand, in the order the usage shows them; adding one is
// one line here.
var subcommands = []subcommand{
	{"sample", "sample --from DIR --prompt TEXT [flags]", "generate from a trained run", sampleCmd},
	{"eval", "eval --from DIR [flags]", "loss and accuracy over a whole split of a text run's data", evalCmd},
	{"explain", "explain [--masked] [--x JSON | --from DIR --prompt TEXT]", "attention step by step: Q, K, V, scores, weights", explainCmd},
	{"tokenize", "tokenize --tokenizer SPEC [--train-on FILE] < TEXT", "print the token ids of standard input as a JSON array", tokenizeCmd},
}

func main() {
	// A training step allocates almost nothing once its buffers exist, so collecting at
	// 25% heap growth instead of 100% costs no time and keeps the peak resident set near
	// the live heap.
	debug.SetGCPercent(25)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command and returns its exit status. SIGINT and SIGTERM cancel the
// command's context from its start.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signalContext(context.Background())
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := trainCmd
	if len(args) == 1 && args[0] == "help" {
		args = []string{"-h"}
	}
	if len(args) > 0 {
		for _, s := range subcommands {
			if args[0] == s.name {
				cmd, args = s.run, args[1:]
				break
			}
		}
	}
	err := cmd(ctx, args, stdout, stderr)
	var intr *interruptedError
	var hint *usageHint
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &intr):
		fmt.Fprintln(stderr, intr.msg)
		return intr.status()
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "error: %s\n", usageMessage(err))
		if errors.As(err, &hint) {
			fmt.Fprintf(stderr, "run '%s -h' for usage\n", hint.cmd)
		}
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

// usageHint marks a command line that did not parse: the error line is followed by a
// hint to read cmd's usage.
type usageHint struct {
	error
	cmd string
}

func (h *usageHint) Unwrap() error { return h.error }

// flagErr is the usage error of a command line of cmd ("train-toy", "train-toy sample")
// that does not parse.
func flagErr(cmd string, format string, args ...any) error {
	return &usageHint{error: usageErr(format, args...), cmd: cmd}
}

// signalReceived is the cause of a context cancelled by a signal.
type signalReceived struct{ sig os.Signal }

func (s signalReceived) Error() string { return sigName(s.sig) + " received" }

func sigName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// signalContext returns a context cancelled, with a signalReceived cause, by the first
// SIGINT or SIGTERM; later ones are ignored until stop is called, so that a checkpoint
// being saved is finished.
func signalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(signalReceived{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// interruptedError is a command stopped by a signal: msg says what was kept.
type interruptedError struct {
	sig os.Signal
	msg string
}

func (e *interruptedError) Error() string { return e.msg }

// status is the shell's convention for a process ended by a signal: 128 + its number.
func (e *interruptedError) status() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// interrupted returns nil if ctx is live, else the error that stops the command with
// the line "interrupted by SIGNAL <what>", e.g. "before training started; nothing was
// written".
func interrupted(ctx context.Context, format string, args ...any) error {
	if ctx.Err() == nil {
		return nil
	}
	return stopped(ctx, format, args...)
}

// stopped is the error of a command whose context was cancelled.
func stopped(ctx context.Context, format string, args ...any) error {
	var sig os.Signal = os.Interrupt
	var s signalReceived
	if errors.As(context.Cause(ctx), &s) {
		sig = s.sig
	}
	return &interruptedError{sig: sig, msg: "interrupted by " + sigName(sig) + " " + fmt.Sprintf(format, args...)}
}
