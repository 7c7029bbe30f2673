//go:build !(amd64 || arm64) || purego

package vec

// levels returns the names of the forms of the kernels that can run here: the one
// the build selects.
func levels() []string { return []string{"default"} }

// setLevel does nothing: there is one form.
func setLevel(name string) (restore func()) { return func() {} }
