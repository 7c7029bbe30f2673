//go:build !amd64 || purego

package sgemm

var useAsmPack = false

func packFullB(d, b []float32, ldb int, tB bool, kc, w int) bool { return false }

func packPanelAT(d, a []float32, lda, rows, kc, mr int) bool { return false }

func packPanelAN(d, a []float32, lda, rows, kc, mr int) bool { return false }
