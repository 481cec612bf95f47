# plots/memory_timeline.gp — figure 6: live tracked memory (MiB) through one
# optimizer step (ms from its start) for retain (top) and accumulate (bottom)
# with the same split, the background shaded by phase: retain's forwards
# F1…Fk pile up every micro-batch's activations until the backwards Bk…B1
# release them; accumulate's F1 B1 … Fk Bk return to the base each time.
# Where the split also ran with --recompute blocks, four panels: each
# strategy above its recompute run, whose backward shows the recompute (R)
# bands.
#
# Data (`accumbench report` writes it): two blocks per panel, separated by two
# blank lines, each with a `# series:` comment and a header line whose 2nd
# column is the series title:
#   2p      panel p's phase spans: start_ms end_ms phase "label"
#   2p + 1  panel p's live bytes:  time_ms MiB
# panels retain, accumulate; or retain, retain recompute, accumulate,
# accumulate recompute (the first half of the panels are retain's, drawn in
# its colour). phase: 0 other, 1 forward, 2 backward, 3 optimizer,
# 4 recompute; label "-" for none.
#
#   gnuplot -e "datafile='DIR/plots/data/memory_timeline.dat'; outbase='out'" memory_timeline.gp
# writes out.png (pngcairo, else png) and out.svg; plottitle='...' sets the title.

if (!exists("datafile")) { print "memory_timeline.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "memory_timeline" }
if (!exists("plottitle")) { plottitle = "Live memory through one step" }
set encoding utf8
set datafile columnheaders

array PHASE_RGB[5] = [0xdddddd, 0xcfe6f5, 0xfbe0bd, 0xc6ead9, 0xf0cce0]
array PHASE_NAME[5] = ["other", "forward", "backward", "optimizer", "recompute"]

stats datafile using 1 nooutput
NP = STATS_blocks / 2
# the y axis spans the live bytes of every panel's step (not from zero:
# parameters, gradients and optimizer state can dwarf what a micro-batch
# adds), the x axis the longest step; the key names recompute only where a
# span is one
ymax = -1e300
ymin = 1e300
xmax = 0
recompute = 0
do for [p = 0:NP - 1] {
    stats datafile index (2 * p + 1) using 2 nooutput
    ymax = STATS_max > ymax ? STATS_max : ymax
    ymin = STATS_min < ymin ? STATS_min : ymin
    stats datafile index (2 * p) using 2 nooutput
    xmax = STATS_max > xmax ? STATS_max : xmax
    stats datafile index (2 * p) using 3 nooutput
    recompute = STATS_max >= 4 ? 1 : recompute
}
NPHASE = recompute ? 5 : 4
yspan = ymax > ymin ? ymax - ymin : (ymax > 0 ? ymax : 1)
ybot = ymin - 0.08 * yspan
ybot = ybot < 0 ? 0 : ybot
ytop = ymax + 0.22 * yspan
ylab = ymax + 0.11 * yspan

set xlabel "time from the start of the step (ms)"
set ylabel "live tracked memory (MiB)"
set xrange [0:xmax * 1.01]
set yrange [ybot:ytop]
set style fill solid 1.0 noborder
set key outside right top vertical noenhanced spacing 1.2
set border 3
set tics nomirror
set grid ytics lc rgb "#bbbbbb" front
# four panels: one plot width for all, so the steps' lengths compare
if (NP > 2) { set lmargin at screen 0.09; set rmargin at screen 0.76 }

H = NP > 2 ? 390 * NP + 40 : 820
pngterm = strstrt(GPVAL_TERMINALS, "pngcairo") ? "pngcairo" : "png"
do for [fmt in "png svg"] {
    if (fmt eq "png") {
        if (pngterm eq "pngcairo") { set terminal pngcairo size 1100,H font "DejaVu Sans,11" noenhanced }
        else { set terminal png size 1100,H noenhanced }
    } else {
        set terminal svg size 1100,H font "DejaVu Sans,12" background "white" noenhanced
    }
    set output outbase . "." . fmt
    set multiplot layout NP,1 title plottitle noenhanced
    do for [panel = 0:NP - 1] {
        spans = 2 * panel
        line = 2 * panel + 1
        plot datafile index spans using (($1 + $2) / 2):((ybot + ytop) / 2):(($2 - $1) / 2):((ytop - ybot) / 2):(PHASE_RGB[int($3) + 1]) \
                 with boxxyerror lc rgb variable notitle, \
             for [p = 1:NPHASE] keyentry with boxes fs solid 1.0 lc rgb PHASE_RGB[p] \
                 title (panel == 0 ? PHASE_NAME[p] : ""), \
             datafile index spans using (($1 + $2) / 2):(ylab):(strcol(4) eq "-" ? "" : strcol(4)) with labels \
                 font ",9" notitle, \
             datafile index line using 1:2 with steps lw 2 lc rgb (panel < NP / 2 ? "#d55e00" : "#0072b2") \
                 title columnheader(2)
    }
    unset multiplot
    set output
}
