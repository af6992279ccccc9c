package repl

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/chzyer/readline"
)

// errInterrupt is what ReadLine returns when Ctrl-C is pressed at the
// prompt: the chunk being typed is dropped.
var errInterrupt = errors.New("interrupt")

// input reads the lines of the session.
type input interface {
	// ReadLine shows prompt (if it shows prompts) and returns the next
	// line without its newline; io.EOF at the end, errInterrupt on Ctrl-C.
	ReadLine(prompt string) (string, error)
	Close() error
}

func (s *session) newInput() (input, error) {
	if !s.cfg.Terminal {
		return newPlainInput(s), nil
	}
	if s.cfg.HistoryFile != "" {
		// readline would create it world-readable; history may hold
		// secrets (trust passwords).
		if f, err := os.OpenFile(s.cfg.HistoryFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            ">>> ",
		HistoryFile:       s.cfg.HistoryFile,
		HistoryLimit:      s.cfg.HistoryLimit,
		HistorySearchFold: true,
		AutoComplete:      completer{s},
		InterruptPrompt:   "^C",
		EOFPrompt:         "\n", // readline's spelling of "print nothing"
		Stdin:             readline.NewCancelableStdin(s.cfg.In),
		Stdout:            s.cfg.Out,
		Stderr:            s.cfg.Err,
	})
	if err != nil {
		return nil, err
	}
	// Closing the editor makes a pending Readline return io.EOF.
	stop := context.AfterFunc(s.ctx, func() { rl.Close() })
	return &terminalInput{rl: rl, stop: stop}, nil
}

// terminalInput is the line editor: editing, history, completion.
type terminalInput struct {
	rl   *readline.Instance
	stop func() bool
}

func (t *terminalInput) ReadLine(prompt string) (string, error) {
	t.rl.SetPrompt(prompt)
	line, err := t.rl.Readline()
	if errors.Is(err, readline.ErrInterrupt) {
		return "", errInterrupt
	}
	return line, err
}

func (t *terminalInput) Close() error {
	t.stop()
	return t.rl.Close()
}

// plainInput reads lines from a pipe or file: no prompts, no history. A
// reader goroutine lets ReadLine give way to Ctrl-C and to the end of the
// session.
type plainInput struct {
	s     *session
	lines chan lineOrErr
	done  chan struct{}
}

type lineOrErr struct {
	line string
	err  error
}

func newPlainInput(s *session) *plainInput {
	p := &plainInput{s: s, lines: make(chan lineOrErr), done: make(chan struct{})}
	go func() {
		defer close(p.lines) // later reads see io.EOF
		r := bufio.NewReader(s.cfg.In)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				err = nil // the last line may lack its newline
			}
			select {
			case p.lines <- lineOrErr{strings.TrimRight(line, "\r\n"), err}:
			case <-p.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *plainInput) ReadLine(string) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", io.EOF
		}
		return l.line, l.err
	case <-p.s.cfg.Interrupts:
		return "", errInterrupt
	case <-p.s.ctx.Done():
		return "", io.EOF
	}
}

func (p *plainInput) Close() error {
	close(p.done)
	return nil
}
