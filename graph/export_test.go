package graph

// SetSharing sets, for the Programs built (share) and run (poison) from now on, whether
// they share their buffers by liveness and whether Run fills each lent buffer with NaN
// before its step; it returns the function that restores the previous settings.
func SetSharing(share, poison bool) (restore func()) {
	s, p := shareBuffers, poisonBuffers
	shareBuffers, poisonBuffers = share, poison
	return func() { shareBuffers, poisonBuffers = s, p }
}

// SetFlashTri sets whether FlashAttention's float32 tiles skip the work their causal
// or window structure allows (see tileTri); it returns the function that restores the
// previous setting.
func SetFlashTri(on bool) (restore func()) {
	old := flashTri
	flashTri = on
	return func() { flashTri = old }
}
