//go:build arm64 && !purego

package vec

// levels returns the names of the forms of the kernels: NEON (every arm64 CPU has it)
// and the Go loops.
func levels() []string { return []string{"neon", "go"} }

// setLevel makes the kernels run the form of that name until restore is called.
func setLevel(name string) (restore func()) {
	saved := useNEON
	useNEON = name == "neon"
	return func() { useNEON = saved }
}
