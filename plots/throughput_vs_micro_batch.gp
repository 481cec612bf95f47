# plots/throughput_vs_micro_batch.gp — figure 2: throughput (samples/s)
# against micro-batch size (log2) at one effective batch, one line per
# strategy (and engine, when the results hold two); each point is labelled with its iter_size (k), above or below
# the point by turns so two strategies' labels do not overlap.
#
# Data (`accumbench report` writes it): one block per strategy, blocks
# separated by two blank lines; each opens with a `# series:` comment and a
# header line whose 2nd column is the series title, then rows
#   micro_batch samples_per_s iter_size rgb point dash samples_per_s_min samples_per_s_max
# (full has one point: its micro-batch is the effective batch; dash is the
# series' line dash type; samples/s is the median over the repeats, min and
# max their range, drawn as error bars: one process each, so the bars show
# how far apart separate runs of the same configuration landed).
#
#   gnuplot -e "datafile='DIR/plots/data/throughput_vs_micro_batch.dat'; outbase='out'" throughput_vs_micro_batch.gp
# writes out.png (pngcairo, else png) and out.svg; plottitle='...' sets the title.

if (!exists("datafile")) { print "throughput_vs_micro_batch.gp: give datafile='...' with -e"; exit status 2 }
if (!exists("outbase")) { outbase = "throughput_vs_micro_batch" }
if (!exists("plottitle")) { plottitle = "Throughput vs micro-batch" }
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

# series i drawn a little left or right of its micro-batch (a fixed step on
# the log2 axis), so range bars of series at the same micro-batch do not
# hide each other
dodge(x, i) = x * 2 ** (0.025 * (i - (N + 1) / 2.0))

set title plottitle noenhanced
set xlabel "micro-batch (samples per forward/backward, log2 scale)"
set ylabel "throughput (samples/s)"
set logscale x 2
set autoscale xfix
set format x "%g"
set yrange [0:*]
set offsets graph 0.06, graph 0.06, graph 0.12, 0
set grid xtics ytics lc rgb "#dddddd"
# keyoutside=1 (the report sets it when two engines' series share the plot):
# the key beside the plot, where it hides no point
if (exists("keyoutside")) { set key outside right top vertical Left reverse noenhanced spacing 1.2 } \
else { set key inside right bottom vertical Left reverse noenhanced spacing 1.2 box opaque }
set border 3
set tics nomirror
set bars 2

pngterm = strstrt(GPVAL_TERMINALS, "pngcairo") ? "pngcairo" : "png"
do for [fmt in "png svg"] {
    if (fmt eq "png") {
        if (pngterm eq "pngcairo") { set terminal pngcairo size 1100,640 font "DejaVu Sans,11" noenhanced }
        else { set terminal png size 1100,640 noenhanced }
    } else {
        set terminal svg size 1100,640 font "DejaVu Sans,12" background "white" noenhanced
    }
    set output outbase . "." . fmt
    plot for [i = 1:N] datafile index (i - 1) using (dodge($1, i)):2:7:8 with yerrorlines lw 2 dt DT[i] pt PT[i] \
             ps 1.5 lc rgb RGB[i] title columnheader(2), \
         for [i = 1:N] datafile index (i - 1) using (dodge($1, i)):2:(sprintf("k=%d", int($3))) with labels \
             offset 0,(i % 2 ? 1.2 : -1.2) \
             font ",9" tc rgb RGB[i] notitle
    set output
}
