//go:build amd64 && !purego

package vec

// levelNames names the forms of the kernels, by level.
var levelNames = [...]string{levelGo: "go", levelAVX2: "avx2", levelAVX512: "avx512"}

// levels returns the names of the forms of the kernels that this CPU runs, best first.
func levels() []string {
	var ls []string
	for l := level; l >= levelGo; l-- {
		ls = append(ls, levelNames[l])
	}
	return ls
}

// setLevel makes the kernels run the form of that name until restore is called.
func setLevel(name string) (restore func()) {
	saved := level
	for l, n := range levelNames {
		if n == name {
			level = l
		}
	}
	return func() { level = saved }
}
