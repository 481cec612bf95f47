# plots/memory_vs_iter_size.gp — figure 1: peak tracked memory (MiB) against
# iter_size (log2), retain vs accumulate, one line per micro-batch; the
# analytic model dashed; configurations that ran out of memory as crosses.
# With two engines (accumbench and torch) each engine has its own series, in
# its own dash type and point types.
#
# Data (`accumbench report` writes it): one block per (strategy, micro-batch),
# blocks separated by two blank lines; each opens with a `# series:` comment
# and a header line whose 2nd column is the series title, then rows
#   iter_size tracked_MiB analytic_MiB oom_MiB is_oom rgb point dash
# tracked_MiB is NaN where the configuration ran out of memory, oom_MiB (its
# analytic need, where it is drawn) NaN where it did not; rgb, point and dash
# are the series' colour (0xRRGGBB), point type and line dash type. (A torch
# series on the CPU draws RSS growth in the tracked_MiB column: the report
# then passes memlabel='...' for the axis.)
#
#   gnuplot -e "datafile='DIR/plots/data/memory_vs_iter_size.dat'; outbase='out'" memory_vs_iter_size.gp
# writes out.png (pngcairo, else png) and out.svg; plottitle='...' sets the
# title, memlabel='...' the memory axis' label.

if (!exists("datafile")) { print "memory_vs_iter_size.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "memory_vs_iter_size" }
if (!exists("plottitle")) { plottitle = "Peak tracked memory vs iter_size" }
if (!exists("memlabel")) { memlabel = "peak tracked memory (MiB)" }
set encoding utf8
set datafile columnheaders

stats datafile using 1 nooutput
N = STATS_blocks
array RGB[N]
array PT[N]
array DT[N]
# the blocks with an out-of-memory row, OOM[1..NOOM]; every entry is set,
# since gnuplot 5.4 evaluates a plot-for's expressions even for no iteration
array OOM[N]
do for [i = 1:N] { OOM[i] = 1 }
NOOM = 0
do for [i = 1:N] {
    stats datafile index (i - 1) using 6 nooutput
    RGB[i] = int(STATS_min)
    stats datafile index (i - 1) using 7 nooutput
    PT[i] = int(STATS_min)
    stats datafile index (i - 1) using 8 nooutput
    DT[i] = int(STATS_min)
    stats datafile index (i - 1) using 5 nooutput
    if (STATS_max > 0) { NOOM = NOOM + 1; OOM[NOOM] = i }
}

set title plottitle noenhanced
set xlabel "iter_size (micro-batches per optimizer step, log2 scale)" noenhanced
set ylabel memlabel noenhanced
set logscale x 2
set format x "%g"
set offsets graph 0.04, graph 0.04, graph 0.06, graph 0.06
set grid xtics ytics lc rgb "#dddddd"
# keyoutside=1 (the report sets it when two engines' series share the plot):
# the key beside the plot, where it hides no point
if (exists("keyoutside")) { set key outside right top vertical Left reverse noenhanced spacing 1.2 } \
else { set key inside left top vertical Left reverse noenhanced spacing 1.2 box opaque }
set border 3
set tics nomirror

pngterm = strstrt(GPVAL_TERMINALS, "pngcairo") ? "pngcairo" : "png"
do for [fmt in "png svg"] {
    if (fmt eq "png") {
        if (pngterm eq "pngcairo") { set terminal pngcairo size 1100,640 font "DejaVu Sans,11" noenhanced }
        else { set terminal png size 1100,640 noenhanced }
    } else {
        set terminal svg size 1100,640 font "DejaVu Sans,12" background "white" noenhanced
    }
    set output outbase . "." . fmt
    plot for [i = 1:N] datafile index (i - 1) using 1:3 with lines dt 2 lw 1.5 lc rgb RGB[i] notitle, \
         for [i = 1:N] datafile index (i - 1) using 1:2 with linespoints lw 2 dt DT[i] pt PT[i] ps 1.4 lc rgb RGB[i] \
             title columnheader(2), \
         keyentry with lines dt 2 lw 1.5 lc rgb "#666666" title "analytic model (dashed)", \
         for [j = 1:NOOM] datafile index (OOM[j] - 1) using 1:4 with points pt 2 ps 2.5 lw 3 \
             lc rgb "#cc0000" title (j == 1 ? "out of memory (at its analytic need)" : "")
    set output
}
