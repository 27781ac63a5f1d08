// The Linux system calls the load driver needs that Swift's Glibc module does not export: epoll and timerfd;
// and the stall probe (StallProbe.c).
#ifndef C_TALLY_LOAD_H
#define C_TALLY_LOAD_H

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/timerfd.h>
#endif

/// What a stall probe saw: how often it woke, how often it woke late by more than its threshold, the longest
/// lateness and the sum of the late ones, in seconds.
typedef struct {
    long wakeups;
    long late;
    double longest;
    double lateTotal;
} tally_stall_figures;

typedef struct tally_stall_probe tally_stall_probe;

/// Starts a thread that sleeps `period_ns` at a time and notes each wake-up later than `late_ns` beyond it;
/// NULL when no thread could be started.
tally_stall_probe *tally_stall_probe_start(long period_ns, long late_ns);

/// Stops the thread, waits for it, fills `figures` and frees the probe.
void tally_stall_probe_stop(tally_stall_probe *probe, tally_stall_figures *figures);

#endif
