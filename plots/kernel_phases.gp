# plots/kernel_phases.gp — figure 4: kernel time per optimizer step (ms),
# stacked by phase (forward, recompute, backward, optimizer, other), one bar per
# configuration (strategy and split) at one effective batch. The key names
# recompute only where a bar has some (a run with --recompute blocks, its
# label ending in "recompute").
#
# Data (`accumbench report` writes it): one block, a `# series:` comment, a
# header line naming the columns (its 2nd to 6th columns are the phase
# titles), then one row per configuration:
#   "configuration" forward_ms recompute_ms backward_ms optimizer_ms other_ms
#
#   gnuplot -e "datafile='DIR/plots/data/kernel_phases.dat'; outbase='out'" kernel_phases.gp
# writes out.png (pngcairo, else png) and out.svg; plottitle='...' sets the title.

if (!exists("datafile")) { print "kernel_phases.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "kernel_phases" }
if (!exists("plottitle")) { plottitle = "Kernel time per step by phase" }
set encoding utf8
set datafile columnheaders

array PHASE_RGB[5] = ["#56b4e9", "#cc79a7", "#e69f00", "#009e73", "#999999"]
stats datafile using 3 nooutput
RECOMPUTE = STATS_max > 0

set title plottitle noenhanced
set xlabel "configuration (strategy micro-batch×iter_size)" noenhanced
set ylabel "kernel time per step (ms)"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border rgb "#444444"
set boxwidth 0.7
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set xtics rotate by -30 left noenhanced
set grid ytics lc rgb "#dddddd"
set key outside right top vertical noenhanced spacing 1.2
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
    plot for [c = 2:6] datafile using c:xtic(1) lc rgb PHASE_RGB[c - 1] \
        title (c == 3 && !RECOMPUTE ? "" : columnheader(c))
    set output
}
