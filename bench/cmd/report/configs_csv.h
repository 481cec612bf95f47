/* bench/cmd/report/configs_csv.h — DIR/configs.csv, one row per
 * configuration (configs_csv.c says its columns). */
#ifndef ACCUMBENCH_REPORT_CONFIGS_CSV_H
#define ACCUMBENCH_REPORT_CONFIGS_CSV_H

#include "report.h"

/* written atomically; 0, or -1 with rp->err */
int configs_csv_write(report *rp);

#endif
