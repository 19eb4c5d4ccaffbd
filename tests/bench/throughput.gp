# throughput.gp - docs/throughput.png from bench-results/throughput.dat.
# Run by tests/bench/run_bench.py (make bench):
#   gnuplot -e "datafile='bench-results/throughput.dat'; outfile='docs/throughput.png'" tests/bench/throughput.gp
# Needs gnuplot (Debian: apt-get install -y gnuplot-nox).
# Columns: inflight, then over HTTP (2-7): connector through libconnhost,
# raw-curl, python, node, raw-curl with a read callback, connector through
# connector-host; the same over TLS (8-13); NaN where not measured.
if (!exists("datafile")) datafile = "bench-results/throughput.dat"
if (!exists("outfile")) outfile = "docs/throughput.png"
set terminal pngcairo size 1100,760 font "sans,11" noenhanced
set output outfile
set title "send_sms throughput against the local sandbox (loopback, 2 cores; median of runs)"
set xlabel "requests in flight"
set ylabel "messages per second"
set logscale x 2
set xrange [0.8:320]
set xtics ("1" 1, "4" 4, "16" 16, "64" 64, "256" 256)
set grid
set key below horizontal maxcols 3
set datafile missing "NaN"
set yrange [0:*]
plot \
  datafile using 1:2 with linespoints lw 2 pt 7 lc rgb "#c0392b" title "connector (libconnhost), HTTP", \
  datafile using 1:7 with linespoints lw 1 pt 7 ps 0.6 lc rgb "#e67e22" title "connector-host CLI, HTTP", \
  datafile using 1:3 with linespoints lw 2 pt 5 lc rgb "#2c3e50" title "raw libcurl, HTTP", \
  datafile using 1:6 with linespoints lw 1 pt 13 lc rgb "#8e44ad" title "raw libcurl + read callback, HTTP", \
  datafile using 1:4 with linespoints lw 2 pt 9 lc rgb "#2980b9" title "python3-twilio, HTTP", \
  datafile using 1:5 with linespoints lw 2 pt 11 lc rgb "#27ae60" title "npm twilio, HTTP", \
  datafile using 1:8 with linespoints lw 2 dt 2 pt 6 lc rgb "#c0392b" title "connector (libconnhost), TLS", \
  datafile using 1:13 with linespoints lw 1 dt 2 pt 6 ps 0.6 lc rgb "#e67e22" title "connector-host CLI, TLS", \
  datafile using 1:9 with linespoints lw 2 dt 2 pt 4 lc rgb "#2c3e50" title "raw libcurl, TLS", \
  datafile using 1:12 with linespoints lw 1 dt 2 pt 12 lc rgb "#8e44ad" title "raw libcurl + read callback, TLS", \
  datafile using 1:10 with linespoints lw 2 dt 2 pt 8 lc rgb "#2980b9" title "python3-twilio, TLS", \
  datafile using 1:11 with linespoints lw 2 dt 2 pt 10 lc rgb "#27ae60" title "npm twilio, TLS"
