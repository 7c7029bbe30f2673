package sgemm

// packA packs the mc×kc block of op(A) whose top-left element is a[0] into
// kr.mr-tall panels: the panel of rows ir … ir+kr.mr-1 is dst[ir·kc + p·kr.mr + i].
// A partial last panel gets the height h = kr.panelHeight(rows) of the
// kernel that reads it: dst[ir·kc + p·h + i]. Rows past mc are zero. With tA,
// op(A)[i][p] = a[p*lda+i], else a[i*lda+p].
func packA(kr *kernel, dst, a []float32, lda int, tA bool, mc, kc int) {
	for ir := 0; ir < mc; ir += kr.mr {
		rows := min(kr.mr, mc-ir)
		mr, _ := kr.panelHeight(rows)
		d := dst[ir*kc : ir*kc+mr*kc]
		if tA {
			if packPanelAT(d, a[ir:], lda, rows, kc, mr) {
				continue
			}
			for p := 0; p < kc; p++ {
				dd := d[p*mr : p*mr+mr]
				src := a[p*lda+ir : p*lda+ir+rows]
				copy(dd, src)
				clear(dd[rows:])
			}
			continue
		}
		if packPanelAN(d, a[ir*lda:], lda, rows, kc, mr) {
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(ir+r)*lda : (ir+r)*lda+kc]
			dd := d[r:]
			for p, v := range src {
				dd[p*mr] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kc; p++ {
				d[p*mr+r] = 0
			}
		}
	}
}

// packB packs the kc×nc block of op(B) whose top-left element is b[0] into
// panels of kr.panelWidth columns: the panel starting at column jr holds
// dst[jr·kc + p·w + j]. Columns past nc are zero. With tB,
// op(B)[p][j] = b[j*ldb+p], else b[p*ldb+j].
func packB(kr *kernel, dst, b []float32, ldb int, tB bool, kc, nc int) {
	for jr := 0; jr < nc; {
		w, _ := kr.panelWidth(nc - jr)
		cols := min(w, nc-jr)
		d := dst[jr*kc : jr*kc+w*kc]
		if cols == w {
			bo := jr
			if tB {
				bo = jr * ldb
			}
			if packFullB(d, b[bo:], ldb, tB, kc, w) {
				jr += w
				continue
			}
		}
		if !tB {
			for p := 0; p < kc; p++ {
				dd := d[p*w : p*w+w]
				copy(dd, b[p*ldb+jr:p*ldb+jr+cols])
				clear(dd[cols:])
			}
		} else {
			for j := 0; j < cols; j++ {
				src := b[(jr+j)*ldb : (jr+j)*ldb+kc]
				dd := d[j:]
				for p, v := range src {
					dd[p*w] = v
				}
			}
			if cols < w {
				for p := 0; p < kc; p++ {
					clear(d[p*w+cols : p*w+w])
				}
			}
		}
		jr += w
	}
}
