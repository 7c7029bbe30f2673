package graph

// SetSharing sets, for the Programs built (share) and run (poison) from now on, whether
// they share their buffers by liveness and whether Run fills each lent buffer with NaN
// before its step; it returns the function that restores the previous settings.
func SetSharing(share, poison bool) (restore func()) {
	s, p := shareBuffers, poisonBuffers
	shareBuffers, poisonBuffers = share, poison
	return func() { shareBuffers, poisonBuffers = s, p }
}
