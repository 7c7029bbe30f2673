// Package filetest holds the helpers that tests of files on disk share (safefile,
// safetensors, train's checkpoints, plots): what a directory holds, and which of its
// entries are temporary files left behind, and reading a JSON file. It is for tests only.
package filetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Names lists dir's entries by name, sorted (os.ReadDir's order).
func Names(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TempFiles lists dir's leftover temporary files (names holding ".tmp-", as
// safefile's atomic writes make them).
func TempFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range Names(t, dir) {
		if strings.Contains(n, ".tmp-") {
			out = append(out, n)
		}
	}
	return out
}

// NoBlock returns the error of f, which it runs on another goroutine, and fails the
// test as "what blocks" when f has not returned within 5 s.
func NoBlock(t testing.TB, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s blocks", what)
		return nil
	}
}

// Previous makes a fresh temporary directory holding the file name with the content
// "previous" and mode perm, for tests that an overwrite replaces it or leaves it
// alone; it returns the directory and the file's path.
func Previous(t testing.TB, name string, perm os.FileMode) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("previous"), perm); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// ReadJSON decodes the JSON file at path into v, failing the test if it cannot be read
// or decoded.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
