# plots/peak_ratio.gp — figure 5: retain's peak tracked memory divided by
# accumulate's, for the same micro-batch and iter_size, against iter_size
# (log2); one line per micro-batch (and engine, when the results hold two);
# the analytic model's ratio dashed.
#
# Data (`accumbench report` writes it): one block per micro-batch, blocks
# separated by two blank lines; each opens with a `# series:` comment and a
# header line whose 2nd column is the series title, then rows
#   iter_size ratio analytic_ratio rgb point dash
# (dash: the series' line dash type)
#
#   gnuplot -e "datafile='DIR/plots/data/peak_ratio.dat'; outbase='out'" peak_ratio.gp
# writes out.png (pngcairo, else png) and out.svg; plottitle='...' sets the
# title, memlabel='...' the ratio axis' label.

if (!exists("datafile")) { print "peak_ratio.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "peak_ratio" }
if (!exists("plottitle")) { plottitle = "Peak memory ratio retain / accumulate" }
if (!exists("memlabel")) { memlabel = "retain peak / accumulate peak (tracked bytes)" }
set encoding utf8
set datafile columnheaders

stats datafile using 1 nooutput
N = STATS_blocks
array RGB[N]
array PT[N]
array DT[N]
do for [i = 1:N] {
    stats datafile index (i - 1) using 4 nooutput
    RGB[i] = int(STATS_min)
    stats datafile index (i - 1) using 5 nooutput
    PT[i] = int(STATS_min)
    stats datafile index (i - 1) using 6 nooutput
    DT[i] = int(STATS_min)
}

set title plottitle noenhanced
set xlabel "iter_size (micro-batches per optimizer step, log2 scale)" noenhanced
set ylabel memlabel noenhanced
set logscale x 2
set format x "%g"
set offsets graph 0.04, graph 0.04, graph 0.1, graph 0.05
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
    plot 1 with lines lw 1 lc rgb "#999999" title "equal memory", \
         for [i = 1:N] datafile index (i - 1) using 1:3 with lines dt 2 lw 1.5 lc rgb RGB[i] notitle, \
         for [i = 1:N] datafile index (i - 1) using 1:2 with linespoints lw 2 dt DT[i] pt PT[i] ps 1.4 lc rgb RGB[i] \
             title columnheader(2), \
         keyentry with lines dt 2 lw 1.5 lc rgb "#666666" title "analytic model (dashed)"
    set output
}
