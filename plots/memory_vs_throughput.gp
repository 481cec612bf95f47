# plots/memory_vs_throughput.gp — figure 3: peak tracked memory (MiB) against
# throughput (samples/s) at one effective batch: one point per split
# (micro-batch × iter_size), coloured by strategy; the Pareto front (no other
# split uses less memory and runs faster) joined by a line. With two engines
# each engine's strategies are series of their own (point types tell them
# apart) and the front is the first engine's.
#
# Data (`accumbench report` writes it): one block per strategy, then a last
# block for the Pareto front, blocks separated by two blank lines; each opens
# with a `# series:` comment and a header line whose 2nd column is the series
# title, then rows
#   memory_MiB samples_per_s "split" rgb point samples_per_s_min samples_per_s_max
#                                                  (strategy blocks)
#   memory_MiB samples_per_s "strategy split"      (the front, by memory)
# memory_MiB is the tracked peak (a torch series on the CPU: RSS growth; the
# report then passes memlabel='...' for the axis); samples/s is the median
# over the repeats, min and max their range, drawn as a capped vertical bar
# behind the point (vectors, not yerrorbars: gnuplot 5.4 blanks a disc under
# an error-bar point, a second mark that is not data).
#
#   gnuplot -e "datafile='DIR/plots/data/memory_vs_throughput.dat'; outbase='out'" memory_vs_throughput.gp
# writes out.png (pngcairo, else png) and out.svg; plottitle='...' sets the
# title, memlabel='...' the memory axis' label.

if (!exists("datafile")) { print "memory_vs_throughput.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "memory_vs_throughput" }
if (!exists("plottitle")) { plottitle = "Memory vs throughput" }
if (!exists("memlabel")) { memlabel = "peak tracked memory (MiB)" }
set encoding utf8
set datafile columnheaders

stats datafile using 1 nooutput
N = STATS_blocks - 1
array RGB[N]
array PT[N]
do for [i = 1:N] {
    stats datafile index (i - 1) using 4 nooutput
    RGB[i] = int(STATS_min)
    stats datafile index (i - 1) using 5 nooutput
    PT[i] = int(STATS_min)
}

set title plottitle noenhanced
set xlabel memlabel noenhanced
set ylabel "throughput (samples/s)"
set offsets graph 0.08, graph 0.08, graph 0.1, graph 0.1
set grid xtics ytics lc rgb "#dddddd"
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
    plot datafile index N using 1:2 with lines lw 6 lc rgb "#c8c8c8" title columnheader(2), \
         for [i = 1:N] datafile index (i - 1) using 1:6:(0):($7 - $6) with vectors heads size screen 0.006,90 \
             lw 2 lc rgb RGB[i] notitle, \
         for [i = 1:N] datafile index (i - 1) using 1:2 with points pt PT[i] ps 1.6 lw 2 lc rgb RGB[i] \
             title columnheader(2), \
         for [i = 1:N] datafile index (i - 1) using 1:2:3 with labels offset 0,1.1 font ",9" tc rgb RGB[i] notitle
    set output
}
