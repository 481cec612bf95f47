/* bench/cmd/report/summary.h — the summary as a document (summary.c), and
 * the pages that print it: summary.md (summary.c) and report.html (html.c). */
#ifndef ACCUMBENCH_REPORT_SUMMARY_H
#define ACCUMBENCH_REPORT_SUMMARY_H

#include "doc.h"
#include "figures.h"
#include "report.h"

/* buf and buf2 hold ncfgs */
void summary_build(const report *rp, const report_view *v, doc *d, const report_config **buf,
                   const report_config **buf2);
/* DIR/summary.md: a heading and the summary. 0, or -1 with rp->err */
int summary_write(report *rp, const doc *summary, int ndrawn);
/* DIR/report.html. 0, or -1 with rp->err */
int html_write(report *rp, const report_view *v, const figure figs[FIG_COUNT], const doc *summary,
               const char *skip_why);

#endif
