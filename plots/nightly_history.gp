# plots/nightly_history.gp — the nightly history: one figure per quantity
# (throughput or peak tracked memory) against the run's date, one line per
# configuration. scripts/nightly.sh draws it from ROOT/history.csv.
#
# Data: one block per configuration, blocks separated by two blank lines;
# each opens with a header line whose 2nd column is the series title (the
# configuration without what all of them share), then rows
#   date(UTC, %Y-%m-%dT%H:%M:%SZ) value
#
#   gnuplot -e "datafile='D.dat'; outbase='ROOT/history-throughput'; ylab='samples/s'" nightly_history.gp
# writes outbase.png (pngcairo, else png) and outbase.svg; plottitle='...' sets the title.

if (!exists("datafile")) { print "nightly_history.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "history" }
if (!exists("ylab")) { ylab = "value" }
if (!exists("plottitle")) { plottitle = "accumbench nightly: " . ylab }
set encoding utf8
set datafile columnheaders

stats datafile using 0 nooutput
N = STATS_blocks

set title plottitle noenhanced
set xdata time
set timefmt "%Y-%m-%dT%H:%M:%SZ"
set format x "%m-%d\n%H:%M"
set xlabel "run (UTC)"
set ylabel ylab noenhanced
set grid xtics ytics lc rgb "#dddddd"
set key outside right top vertical Left reverse noenhanced
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set border 3
set tics nomirror

pngterm = strstrt(GPVAL_TERMINALS, "pngcairo") ? "pngcairo" : "png"
do for [fmt in "png svg"] {
    if (fmt eq "png") {
        if (pngterm eq "pngcairo") { set terminal pngcairo size 1200,640 font "DejaVu Sans,11" noenhanced }
        else { set terminal png size 1200,640 noenhanced }
    } else {
        set terminal svg size 1200,640 font "DejaVu Sans,12" background "white" noenhanced
    }
    set output outbase . "." . fmt
    plot for [i = 1:N] datafile index (i - 1) using 1:2 with linespoints lw 2 pt 7 ps 0.8 title columnheader(2)
    set output
}
